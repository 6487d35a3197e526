"""A user message may carry OpenAI content parts (text and image_url) for vision models;
a malformed part is refused before anything reaches the engine, with an error naming it."""

from __future__ import annotations

from typing import Any

import pytest

from webllm_machine import ChatMessage, ImagePart, InvalidRequestError, TextPart, WebLLMClient
from webllm_machine.messages import normalize_messages, without_image_detail
from webllm_machine.testing import ScriptedEngine

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg=="  # noqa: E501


def image(url: Any = PNG, **more: Any) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, **more}}


def text(words: Any = "What is in this picture?") -> dict[str, Any]:
    return {"type": "text", "text": words}


def question(*parts: Any) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You describe pictures."},
        {"role": "user", "content": list(parts)},
    ]


def test_text_and_image_parts_are_accepted_and_sent_in_openai_shape() -> None:
    messages = normalize_messages(
        question(text(), image(), image("https://example.org/cat.jpg", detail="low"))
    )
    content = messages[1].content
    assert content == (
        TextPart("What is in this picture?"),
        ImagePart(PNG),
        ImagePart("https://example.org/cat.jpg", "low"),
    )
    assert messages[1].text == "What is in this picture?"
    assert messages[1].to_dict()["content"] == [
        text(),
        image(),
        image("https://example.org/cat.jpg", detail="low"),
    ]


def test_typed_parts_are_accepted_too() -> None:
    message = ChatMessage("user", (TextPart("Describe it"), ImagePart(PNG)))
    (checked,) = normalize_messages([message])
    assert checked == message


BAD_PARTS: list[tuple[str, list[Any], str, str]] = [
    (
        "image_url.url missing",
        [text(), {"type": "image_url", "image_url": {}}],
        "messages[1].content[1].image_url.url",
        "messages[1].content[1]: image_url.url is missing",
    ),
    (
        "image_url missing",
        [text(), text(), {"type": "image_url"}],
        "messages[1].content[2].image_url",
        "messages[1].content[2]: image_url is missing",
    ),
    (
        "image_url given as the URL itself",
        [{"type": "image_url", "image_url": PNG}],
        "messages[1].content[0].image_url",
        "not the URL itself",
    ),
    (
        "a file path, not a URL",
        [image("/home/me/cat.png")],
        "messages[1].content[0].image_url.url",
        "must be a data:image/... URL or an http(s) URL, got '/home/me/cat.png'",
    ),
    (
        "a data URL that is not an image",
        [image("data:text/plain;base64,aGk=")],
        "messages[1].content[0].image_url.url",
        "data:image/... URL",
    ),
    (
        "a data URL without base64 data",
        [image("data:image/png,rawbytes")],
        "messages[1].content[0].image_url.url",
        "without ';base64,'",
    ),
    ("an empty URL", [image("")], "messages[1].content[0].image_url.url", "non-empty string"),
    (
        "an unknown detail",
        [image(detail="ultra")],
        "messages[1].content[0].image_url.detail",
        "must be one of ['auto', 'low', 'high'], got 'ultra'",
    ),
    (
        "an unknown key in image_url",
        [image(size=3)],
        "messages[1].content[0].image_url.size",
        "unknown key(s) ['size'] in image_url",
    ),
    ("text not a string", [text(42)], "messages[1].content[0].text", "text must be a string"),
    ("text missing", [{"type": "text"}], "messages[1].content[0].text", "text is missing"),
    (
        "unknown type",
        [{"type": "input_audio", "input_audio": {}}],
        "messages[1].content[0].type",
        "type must be 'text' or 'image_url', got 'input_audio'",
    ),
    ("no type", [{"text": "hi"}], "messages[1].content[0].type", "type is missing"),
    ("a part that is a string", ["hello"], "messages[1].content[0]", "must be a dict"),
    ("no parts at all", [], "messages[1].content", "is an empty list"),
    (
        "two text parts (web-llm reads one)",
        [text("a"), image(), text("b")],
        "messages[1].content[2]",
        "web-llm takes one text part per message",
    ),
]


@pytest.mark.parametrize(
    ("parts", "field", "words"),
    [case[1:] for case in BAD_PARTS],
    ids=[case[0] for case in BAD_PARTS],
)
def test_a_malformed_part_is_refused_naming_it(parts: list[Any], field: str, words: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        normalize_messages(question(*parts))
    assert caught.value.field == field
    assert words in str(caught.value)


@pytest.mark.parametrize("role", ["system", "assistant"])
def test_only_a_user_message_may_have_parts(role: str) -> None:
    messages = [{"role": role, "content": [text()]}, {"role": "user", "content": "Hi"}]
    with pytest.raises(InvalidRequestError) as caught:
        normalize_messages(messages)
    assert caught.value.field == "messages[0].content"
    assert "must be a string" in str(caught.value)


def test_web_llm_gets_no_detail_since_it_refuses_one() -> None:
    sent = [{"role": "user", "content": [text(), image(detail="high")]}]
    assert without_image_detail(sent) == [{"role": "user", "content": [text(), image()]}]
    assert sent[0]["content"][1]["image_url"]["detail"] == "high"  # the caller's list is kept


async def test_a_bad_part_never_reaches_the_engine() -> None:
    engine = ScriptedEngine(reply="A cat.")
    async with WebLLMClient(engine=engine) as client:
        await client.load_model("m")
        with pytest.raises(InvalidRequestError, match=r"content\[1\]: image_url.url is missing"):
            await client.chat.completions.create(
                messages=question(text(), {"type": "image_url", "image_url": {}})
            )
        assert engine.requests == []
        reply = await client.chat.completions.create(messages=question(text(), image()))
        assert reply.choices[0].message.content == "A cat."
        assert engine.requests[-1]["messages"][1]["content"] == [text(), image()]
