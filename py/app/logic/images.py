"""Images in the chat: which models see them, how big they may be, and what is sent.

The composer holds the images the user attached (a button, a drop, a paste) as
:class:`Attachment` s, each already a ``data:`` URL small enough to keep: the page's
``static/js/images.js`` reads the file and, past :data:`MAX_SIDE` pixels or
:data:`MAX_BYTES`, draws it smaller and encodes it as JPEG; when it cannot (not an image,
a file it cannot decode, still too big), it says why and :func:`failure_text` words it.

A user message with images is saved and sent as OpenAI content parts, the images first
and the text last (Phi-3.5-vision's prompt puts ``<|image_1|>`` before the question)::

    [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,..."}},
     {"type": "text", "text": "What is in this picture?"}]

Only vision models read images (web-llm 0.2.86: its ``model_type`` VLM entries,
Phi-3.5-vision, and its gemma-4 entries, whose artifact manifest declares image input):
:func:`refusal` says why a text-only model refuses them, before anything is sent, and
the composer keeps the images and the text.

>>> content = user_content("What is it?", [Attachment("data:image/png;base64,AA==", 1, 1)])
>>> [part["type"] for part in content]
['image_url', 'text']
>>> refusal("Llama-3.2-1B-Instruct-q4f32_1-MLC", vision=False, images=1)
'Llama-3.2-1B-Instruct-q4f32_1-MLC reads text only: load a vision model (Phi-3.5-vision or \
gemma-4) to send images, or remove the image.'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.logic.conversations import message_text

__all__ = [
    "JPEG_QUALITY",
    "MAX_BYTES",
    "MAX_IMAGES",
    "MAX_SIDE",
    "Attachment",
    "attachment_from",
    "failure_text",
    "image_urls",
    "is_vision_model",
    "refusal",
    "text_only",
    "user_content",
]

#: The longest side of an image kept and sent, in pixels (a bigger one is drawn smaller).
MAX_SIDE = 1024
#: The most bytes of one image kept and sent (its file, before base64): a bigger one is
#: re-encoded as JPEG, then drawn smaller until it fits.
MAX_BYTES = 1_000_000
#: JPEG quality of a re-encoded image (0..1).
JPEG_QUALITY = 0.85
#: The most images of one message (each costs the model hundreds of context tokens).
MAX_IMAGES = 4

#: web-llm's ``ModelType.VLM`` (``describe_record`` names it "VLM").
_VLM = ("VLM", 2)
#: web-llm 0.2.86's gemma-4 entries: no ``model_type``, but an artifact manifest
#: (``model_manifest``) whose ``imageInput`` web-llm reads at load time.
_GEMMA_4 = "gemma-4-"


def is_vision_model(model_id: str | None, records: Iterable[Mapping[str, Any]] = ()) -> bool:
    """Whether ``model_id`` reads images: its record (one of ``records``, web-llm's raw
    ones or :func:`~webllm_machine.catalog.describe_record` 's) has ``model_type`` VLM, or
    it is one of web-llm's gemma-4 entries.

    >>> records = [{"model_id": "Phi-3.5-vision-instruct-q4f32_1-MLC", "model_type": 2},
    ...            {"model_id": "Llama-3.2-1B-Instruct-q4f32_1-MLC"}]
    >>> is_vision_model("Phi-3.5-vision-instruct-q4f32_1-MLC", records)
    True
    >>> is_vision_model("Llama-3.2-1B-Instruct-q4f32_1-MLC", records)
    False
    >>> is_vision_model("gemma-4-E2B-it-q4f32_1-MLC"), is_vision_model(None)
    (True, False)
    """
    if not model_id:
        return False
    if model_id.startswith(_GEMMA_4):
        return True
    return any(
        record.get("model_id") == model_id and record.get("model_type") in _VLM
        for record in records
    )


@dataclass(frozen=True)
class Attachment:
    """An image in the composer, ready to send: its ``data:`` URL and its size in
    pixels; ``name`` (the file's, if any), ``original`` (its size before it was drawn
    smaller, ``None`` when it was kept as it was) and ``bytes`` (of the image kept)."""

    url: str
    width: int
    height: int
    name: str = ""
    original: tuple[int, int] | None = None
    bytes: int = 0

    @property
    def downscaled(self) -> bool:
        return self.original is not None

    def label(self) -> str:
        """What the thumbnail says of it (its alt text and title).

        >>> Attachment("data:image/jpeg;base64,AA==", 1024, 768, "cat.png", (4000, 3000)).label()
        'cat.png, 1024x768 (made smaller from 4000x3000)'
        """
        size = f"{self.width}x{self.height}"
        name = self.name or "Image"
        if self.original is None:
            return f"{name}, {size}"
        return f"{name}, {size} (made smaller from {self.original[0]}x{self.original[1]})"


#: What ``static/js/images.js`` reports when it cannot make an image fit, as words.
_FAILURES = {
    "not_image": "{name} is not an image (PNG, JPEG, WebP or GIF).",
    "unreadable": "{name} could not be read as an image: the file may be damaged.",
    "too_large": (
        "{name} is too large even after making it smaller: the limit is {limit} per image."
    ),
    "too_many": "A message takes at most {max_images} images: remove one first.",
}


def failure_text(kind: str, name: str = "", detail: str = "") -> str:
    """The message shown when an image cannot be attached (``kind`` from ``images.js``).

    >>> failure_text("not_image", "notes.txt")
    '“notes.txt” is not an image (PNG, JPEG, WebP or GIF).'
    >>> failure_text("too_large", "")
    'The image is too large even after making it smaller: the limit is 1 MB per image.'
    >>> failure_text("boom", "a.png", "DOMException")
    '“a.png” could not be attached: DOMException'
    """
    shown = f"“{name}”" if name else "The image"
    template = _FAILURES.get(kind)
    if template is None:
        return f"{shown} could not be attached: {detail or kind}"
    return template.format(name=shown, limit=f"{MAX_BYTES / 1_000_000:g} MB", max_images=MAX_IMAGES)


def attachment_from(report: str | Mapping[str, Any]) -> Attachment | str:
    """``images.js``'s report (JSON text or a dict) as an :class:`Attachment`, or the
    message to show when the image could not be attached.

    >>> attachment_from('{"error": "not_image", "name": "a.pdf"}')
    '“a.pdf” is not an image (PNG, JPEG, WebP or GIF).'
    >>> attachment_from({"url": "data:image/png;base64,AA==", "width": 2, "height": 3,
    ...                  "name": "a.png", "bytes": 70})
    Attachment(url='data:image/png;base64,AA==', width=2, height=3, name='a.png', \
original=None, bytes=70)
    """
    data: Any = json.loads(report) if isinstance(report, str) else report
    if not isinstance(data, Mapping):
        return failure_text("unreadable")
    name = str(data.get("name") or "")
    if data.get("error"):
        return failure_text(str(data["error"]), name, str(data.get("detail") or ""))
    url, width, height = data.get("url"), data.get("width"), data.get("height")
    if not (isinstance(url, str) and url.startswith("data:image/") and ";base64," in url):
        return failure_text("unreadable", name)
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        return failure_text("unreadable", name)
    original = data.get("original")
    kept_original: tuple[int, int] | None = None
    if isinstance(original, Sequence) and len(original) == 2:
        kept_original = (int(original[0]), int(original[1]))
    return Attachment(url, width, height, name, kept_original, int(data.get("bytes") or 0))


def user_content(text: str, images: Sequence[Attachment]) -> str | list[dict[str, Any]]:
    """A user message's ``content``: ``text`` alone, or the images' parts then the text's
    (no text part for an empty text).

    >>> user_content("Hi", [])
    'Hi'
    >>> user_content("", [Attachment("data:image/png;base64,AA==", 1, 1)])
    [{'type': 'image_url', 'image_url': {'url': 'data:image/png;base64,AA=='}}]
    """
    if not images:
        return text
    parts: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": image.url}} for image in images
    ]
    if text:
        parts.append({"type": "text", "text": text})
    return parts


def image_urls(content: object) -> list[str]:
    """The image URLs of a message's ``content`` (none for a string).

    >>> image_urls([{"type": "image_url", "image_url": {"url": "https://e.org/a.png"}},
    ...             {"type": "text", "text": "Hi"}])
    ['https://e.org/a.png']
    >>> image_urls("Hi")
    []
    """
    if not isinstance(content, list):
        return []
    urls = []
    for part in content:
        if isinstance(part, Mapping) and part.get("type") == "image_url":
            image = part.get("image_url")
            if isinstance(image, Mapping) and isinstance(image.get("url"), str):
                urls.append(image["url"])
    return urls


def refusal(model_id: str | None, *, vision: bool, images: int) -> str | None:
    """Why the message cannot be sent with its ``images`` to ``model_id`` (``None``: it
    can). Said before anything is sent; the composer keeps the images and the text.

    >>> refusal("Phi-3.5-vision-instruct-q4f32_1-MLC", vision=True, images=2) is None
    True
    >>> refusal("Phi-3.5-vision-instruct-q4f32_1-MLC", vision=True, images=5)
    'A message takes at most 4 images: remove one first.'
    >>> refusal("Llama", vision=False, images=0) is None
    True
    """
    if images == 0:
        return None
    if images > MAX_IMAGES:
        return failure_text("too_many")
    if not vision:
        return (
            f"{model_id or 'This model'} reads text only: load a vision model "
            "(Phi-3.5-vision or gemma-4) to send images, or remove the image."
        )
    return None


def text_only(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The messages with each list of content parts replaced by its text: what a
    text-only model is sent of a conversation that holds images from a vision model
    (web-llm refuses any content parts on a text model). Images of the conversation stay
    on the page and in the saved conversation.

    >>> text_only([{"role": "user", "content": [
    ...     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
    ...     {"type": "text", "text": "What is it?"}]}])
    [{'role': 'user', 'content': 'What is it?'}]
    """
    return [
        {**m, "content": message_text(m["content"])} if isinstance(m["content"], list) else dict(m)
        for m in messages
    ]
