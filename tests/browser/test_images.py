"""Images for vision models, as a user drives them: attach a picture (the button's file
input, a paste, a drop), see it as a thumbnail, send it with a question to a vision model
(the web-llm double receives an ``image_url`` part with the text), see it in the message
after a reload; a big picture is made smaller; a file that is not an image, and a text-only
model, say so clearly, and nothing is sent or lost.

The pictures are PNGs made here (``png()``). The double accepts image parts only for its
vision model (Phi-3.5-vision, ``model_type`` 2, as web-llm does).
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

from helpers import (
    Q4F32,
    PageLog,
    expect_state,
    load_model,
    open_app,
    saved_conversations,
    shot,
)
from playwright.sync_api import Page, expect

VISION = "Phi-3.5-vision-instruct-q4f32_1-MLC"
REPLY = "A red square on a blue background."


def png(width: int, height: int) -> bytes:
    """A PNG of ``width`` x ``height``: a red square on a blue gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            inside = width // 4 <= x < 3 * width // 4 and height // 4 <= y < 3 * height // 4
            rows += bytes((220, 30, 30) if inside else (20, 60, 90 + (150 * x) // width))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def attach(page: Page, name: str, data: bytes, mime: str = "image/png") -> None:
    page.set_input_files("#attach-input", {"name": name, "mimeType": mime, "buffer": data})


def creates(page: Page) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = page.evaluate("globalThis.__webllmDouble.calls")
    return [c for c in calls if c["fn"] == "chat.completions.create"]


def natural_size(page: Page, selector: str) -> tuple[int, int]:
    size: list[int] = page.locator(selector).evaluate(
        "async (img) => { await img.decode(); return [img.naturalWidth, img.naturalHeight]; }"
    )
    return size[0], size[1]


def test_a_picture_goes_to_a_vision_model_and_stays_after_a_reload(
    page: Page, page_log: PageLog
) -> None:
    open_app(page, {"reply": REPLY}, width=1280)
    load_model(page, VISION)
    expect(page.locator(f'#model-select option[value="{VISION}"]')).to_contain_text("reads images")
    with page.expect_file_chooser() as chooser:  # as a user does: the button opens it
        page.click("#attach-button")
    assert chooser.value.is_multiple()
    chooser.value.set_files({"name": "square.png", "mimeType": "image/png", "buffer": png(64, 48)})
    thumbs = page.locator("#attachments .attachment-thumb")
    expect(thumbs).to_have_count(1)
    expect(thumbs).to_have_attribute("alt", "square.png, 64x48")
    page.fill("#prompt", "What is in this picture?")
    shot(page, "images-composer-1280", "#composer")
    page.click("#send-button")
    expect(page.locator(".message-assistant:not(.streaming)")).to_have_count(1)
    expect_state(page, "ready")

    # The double got the image as an image_url part, with the text, in one user message.
    (create,) = creates(page)
    parts = create["parts"]
    assert [(p["message"], p["role"], p["type"]) for p in parts] == [
        (1, "user", "image_url"),
        (1, "user", "text"),
    ]
    sent_png = base64.b64encode(png(64, 48)).decode()
    assert parts[0]["url"] == f"data:image/png;base64,{sent_png}"  # small: sent as it is
    assert parts[0]["detail"] is None
    assert parts[1]["text"] == "What is in this picture?"

    # The composer is empty again; the bubble shows the picture and the text.
    expect(page.locator("#attachments")).to_be_hidden()
    expect(page.locator("#prompt")).to_have_value("")
    user = page.locator(".message-user")
    expect(user.locator(".message-image")).to_have_count(1)
    expect(user.locator(".bubble-text")).to_have_text("What is in this picture?")
    assert natural_size(page, ".message-user .message-image") == (64, 48)
    shot(page, "images-sent-1280")
    page.set_viewport_size({"width": 390, "height": 900})
    shot(page, "images-sent-390")

    # Saved with the conversation, and shown again after a reload.
    (record,) = saved_conversations(page)
    assert record["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": parts[0]["url"]}},
        {"type": "text", "text": "What is in this picture?"},
    ]
    assert record["title"] == "What is in this picture?"
    page.reload()
    expect(page.locator(".message-user .message-image")).to_have_count(1)
    assert natural_size(page, ".message-user .message-image") == (64, 48)
    expect(page.locator(".message-assistant .bubble-text")).to_have_text(REPLY)
    assert page_log.errors() == []


def test_a_big_picture_is_made_smaller(page: Page, page_log: PageLog) -> None:
    open_app(page, {"reply": REPLY}, width=1280)
    load_model(page, VISION)
    attach(page, "wide.png", png(2400, 1200))
    expect(page.locator("#attachments .attachment-thumb")).to_have_count(1)
    note = page.locator("#attach-note")
    expect(note).to_have_text(
        "Made smaller to send: wide.png, 1024x512 (made smaller from 2400x1200)."
    )
    page.fill("#prompt", "Describe it.")
    page.click("#send-button")
    expect(page.locator(".message-assistant:not(.streaming)")).to_have_count(1)

    # Send while a picture is still being read (decoding made slow here): Send waits,
    # and neither the picture nor the text is left out.
    page.evaluate("""() => {
      const decode = globalThis.createImageBitmap;
      globalThis.createImageBitmap = (...args) =>
        new Promise((resolve) => setTimeout(resolve, 1500)).then(() => decode(...args));
    }""")
    attach(page, "late.png", png(1600, 800))
    page.fill("#prompt", "And this one?")
    page.click("#send-button")
    expect(note).to_have_text("An image is still being prepared: send again in a moment.")
    expect(page.locator("#attachments .attachment-thumb")).to_have_count(1)
    expect(note).to_have_text(
        "Made smaller to send: late.png, 1024x512 (made smaller from 1600x800)."
    )
    expect(page.locator("#prompt")).to_have_value("And this one?")
    assert len(creates(page)) == 1
    create = creates(page)[0]
    url = create["parts"][0]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    assert len(base64.b64decode(url.split(",", 1)[1])) <= 1_000_000
    assert natural_size(page, ".message-user .message-image") == (1024, 512)
    assert page_log.errors() == []


def test_a_file_that_is_not_an_image_says_so(page: Page, page_log: PageLog) -> None:
    open_app(page, {"reply": REPLY}, width=390)
    attach(page, "notes.txt", b"just some text", "text/plain")
    note = page.locator("#attach-note")
    expect(note).to_have_text("“notes.txt” is not an image (PNG, JPEG, WebP or GIF).")
    expect(page.locator("#attachments .attachment")).to_have_count(0)
    attach(page, "broken.png", b"\x89PNG\r\n\x1a\nnot really")
    expect(note).to_contain_text("“broken.png” could not be read as an image")
    expect(page.locator("#attachments .attachment")).to_have_count(0)
    shot(page, "images-not-an-image-390", "#composer")
    assert page_log.errors() == []


def test_a_text_model_refuses_the_picture_and_keeps_it(page: Page, page_log: PageLog) -> None:
    open_app(page, {"reply": REPLY}, width=1280)
    load_model(page, Q4F32)
    attach(page, "square.png", png(64, 48))
    expect(page.locator("#attachments .attachment")).to_have_count(1)
    page.fill("#prompt", "What is in this picture?")
    page.click("#send-button")
    words = f"{Q4F32} reads text only: load a vision model (Phi-3.5-vision or gemma-4)"
    note = page.locator("#attach-note")
    expect(note).to_contain_text(words)
    expect(note).to_contain_text("Nothing was sent; your text and images are kept.")
    expect(page.locator("#error")).to_be_hidden()  # not an engine's error: no Reset offered
    # Nothing sent, nothing lost.
    assert creates(page) == []
    expect(page.locator(".message")).to_have_count(0)
    expect(page.locator("#prompt")).to_have_value("What is in this picture?")
    expect(page.locator("#attachments .attachment")).to_have_count(1)
    shot(page, "images-refused-1280")
    page.set_viewport_size({"width": 390, "height": 900})
    shot(page, "images-refused-390", "#composer")

    # Removing the image sends the text alone.
    page.click("#attachments .remove-attachment")
    expect(page.locator("#attachments")).to_be_hidden()
    page.click("#send-button")
    expect(page.locator(".message-assistant:not(.streaming)")).to_have_count(1)
    (create,) = creates(page)
    assert create["parts"] == []
    assert create["request"]["messages"][-1]["content"] == "What is in this picture?"
    assert page_log.errors() == []


DISPATCH = """([kind, selector, b64, name]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "image/png" }));
  const target = document.querySelector(selector);
  const event = kind === "paste"
    ? new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true })
    : new DragEvent(kind, { dataTransfer: transfer, bubbles: true, cancelable: true });
  target.dispatchEvent(event);
  return event.defaultPrevented;
}"""


def test_paste_and_drop_attach_pictures(page: Page, page_log: PageLog) -> None:
    open_app(page, {"reply": REPLY}, width=1280)
    load_model(page, VISION)
    data = base64.b64encode(png(40, 40)).decode()
    assert page.evaluate(DISPATCH, ["paste", "#prompt", data, "pasted.png"]) is True
    thumbs = page.locator("#attachments .attachment-thumb")
    expect(thumbs).to_have_count(1)
    assert page.evaluate(DISPATCH, ["dragover", "#composer", data, "dropped.png"]) is True
    expect(page.locator("#composer")).to_have_class("panel composer dropping")
    assert page.evaluate(DISPATCH, ["drop", "#prompt", data, "dropped.png"]) is True
    expect(thumbs).to_have_count(2)
    expect(page.locator("#composer")).not_to_have_class("panel composer dropping")
    assert [thumbs.nth(i).get_attribute("alt") for i in range(2)] == [
        "pasted.png, 40x40",
        "dropped.png, 40x40",
    ]
    page.fill("#prompt", "Are these the same?")
    page.click("#send-button")
    expect(page.locator(".message-assistant:not(.streaming)")).to_have_count(1)
    (create,) = creates(page)
    assert [p["type"] for p in create["parts"]] == ["image_url", "image_url", "text"]
    expect(page.locator(".message-user .message-image")).to_have_count(2)
    assert page_log.errors() == []


PREPARE = """async ([b64, maxSide, maxBytes]) => {
  const { prepareImage } = await import(new URL("static/js/images.js", document.baseURI).href);
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const file = new File([bytes], "noise.png", { type: "image/png" });
  return JSON.parse(await prepareImage(file, maxSide, maxBytes, 0.85));
}"""


def noise_png(width: int, height: int) -> bytes:
    """A PNG of random pixels: JPEG cannot make it small."""
    import os

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + (chunk(b"IEND", b""))
    )


def test_an_image_too_large_even_when_made_smaller_is_refused(page: Page) -> None:
    """images.js draws a picture smaller, step by step, down to 256 px; past that it gives
    up ("too_large"), which the composer words (tests/unit/test_chat_images.py). Here with
    a limit of 20 kB, which random pixels at 256 px do not fit."""
    open_app(page, {"reply": REPLY})
    data = base64.b64encode(noise_png(600, 400)).decode()
    report = page.evaluate(PREPARE, [data, 1024, 20_000])
    assert report == {"name": "noise.png", "error": "too_large"}
    fits = page.evaluate(PREPARE, [data, 1024, 400_000])
    assert fits["url"].startswith("data:image/jpeg;base64,")
    assert fits["original"] == [600, 400] and fits["bytes"] <= 400_000
