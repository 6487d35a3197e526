"""Images in the chat app (app/chat.py over app/logic/images.py), as a user would tell it:
a picture goes to a vision model as an image_url part with the question, is saved with the
conversation (and read back after a reload), and a text-only model refuses it before
anything is saved or sent."""

from __future__ import annotations

from typing import Any

import pytest

from app.chat import ChatController, RecordingView
from app.logic.conversations import ConversationStore, conversation_from
from app.logic.images import (
    MAX_IMAGES,
    Attachment,
    attachment_from,
    image_urls,
    is_vision_model,
)
from app.logic.records import MemoryDatabase
from app.logic.settings import ChatSettings
from webllm_machine import InvalidRequestError, WebLLMClient, WebLLMError
from webllm_machine.testing import ScriptedEngine

VISION = "Phi-3.5-vision-instruct-q4f32_1-MLC"
TEXT = "Llama-3.2-1B-Instruct-q4f32_1-MLC"
RECORDS = [{"model_id": VISION, "model_type": 2}, {"model_id": TEXT}]
CAT = Attachment("data:image/png;base64,iVBORw0KGgo=", 64, 48, "cat.png", bytes=70)


class Chat:
    def __init__(self) -> None:
        self.engine = ScriptedEngine(reply="A grey cat on a sofa.")
        self.client = WebLLMClient(engine=self.engine)
        self.db = MemoryDatabase()
        self.store = ConversationStore(self.db.tab())
        self.view = RecordingView()
        self.reported: list[WebLLMError] = []
        self.controller = ChatController(
            self.client,
            self.store,
            lambda: ChatSettings(system_prompt="You describe pictures."),
            self.view,
            report=self.reported.append,
        )
        self.controller.is_vision = lambda model_id: is_vision_model(model_id, RECORDS)

    def sent(self) -> list[list[dict[str, Any]]]:
        return [list(call[1]["messages"]) for call in self.engine.calls_named("stream")]

    def after_reload(self) -> list[dict[str, Any]]:
        return ConversationStore(self.db.tab()).current.messages


@pytest.fixture
def chat() -> Chat:
    return Chat()


async def test_a_picture_goes_to_a_vision_model_with_the_question(chat: Chat) -> None:
    await chat.controller.load(VISION)
    assert await chat.controller.send("What is in this picture?", [CAT])
    (request,) = chat.sent()
    assert request[0] == {"role": "system", "content": "You describe pictures."}
    assert request[1] == {
        "role": "user",
        "content": [
            {"type": "image_url", "image_url": {"url": CAT.url}},
            {"type": "text", "text": "What is in this picture?"},
        ],
    }
    assert chat.view.shown[0]["content"] == request[1]["content"]
    assert chat.view.shown[1]["content"] == "A grey cat on a sofa."


async def test_the_picture_is_saved_and_read_back_after_a_reload(chat: Chat) -> None:
    await chat.controller.load(VISION)
    await chat.controller.send("What is it?", [CAT])
    saved = chat.after_reload()
    assert image_urls(saved[0]["content"]) == [CAT.url]
    assert saved[1] == {"role": "assistant", "content": "A grey cat on a sofa.", **saved[1]}
    conversation = ConversationStore(chat.db.tab()).current
    assert conversation.title == "What is it?"
    markdown = chat.store.export_markdown(conversation.id)
    assert f"![Image 1]({CAT.url})" in markdown
    assert "What is it?" in markdown


async def test_a_picture_alone_is_sent_without_text(chat: Chat) -> None:
    await chat.controller.load(VISION)
    assert await chat.controller.send("   ", [CAT])
    assert chat.sent()[0][1]["content"] == [{"type": "image_url", "image_url": {"url": CAT.url}}]


async def test_a_text_model_refuses_the_picture_before_anything_is_sent(chat: Chat) -> None:
    await chat.controller.load(TEXT)
    assert not await chat.controller.send("What is in this picture?", [CAT])
    (error,) = chat.reported
    assert isinstance(error, InvalidRequestError)
    assert error.field == "images"
    assert f"{TEXT} reads text only" in error.message
    assert "still in the message box" in error.hint
    assert chat.sent() == []
    assert chat.store.current.messages == []
    assert chat.view.shown == []


async def test_too_many_pictures_are_refused(chat: Chat) -> None:
    await chat.controller.load(VISION)
    assert not await chat.controller.send("Compare", [CAT] * (MAX_IMAGES + 1))
    assert f"at most {MAX_IMAGES} images" in chat.reported[0].message
    assert chat.sent() == []


async def test_a_text_model_later_gets_the_text_of_earlier_pictures(chat: Chat) -> None:
    await chat.controller.load(VISION)
    await chat.controller.send("What is it?", [CAT])
    await chat.controller.load(TEXT)
    await chat.controller.send("Write a poem about it.")
    second = chat.sent()[1]
    assert second[1] == {"role": "user", "content": "What is it?"}
    assert all(isinstance(m["content"], str) for m in second)
    assert image_urls(chat.store.current.messages[0]["content"]) == [CAT.url]  # still kept


def test_saved_parts_of_a_foreign_shape_are_left_out() -> None:
    record = {
        "id": "a",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "javascript:alert(1)"}},
                    {"type": "image_url", "image_url": {"url": CAT.url, "extra": 1}},
                    {"type": "text", "text": "Hi"},
                    {"type": "video", "url": "x"},
                ],
            },
            {"role": "user", "content": [{"type": "video"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "parts on a reply"}]},
        ],
    }
    assert conversation_from(record).messages == [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": CAT.url}},
                {"type": "text", "text": "Hi"},
            ],
        }
    ]


def test_web_llm_vision_entries() -> None:
    """web-llm 0.2.86: Phi-3.5-vision has model_type VLM (2); gemma-4 reads images from
    its artifact manifest; the others read text."""
    records = [
        {"model_id": "Phi-3.5-vision-instruct-q4f16_1-MLC", "model_type": 2},
        {"model_id": "Phi-3.5-vision-instruct-q4f32_1-MLC", "model_type": "VLM"},
        {"model_id": "gemma-4-E2B-it-q4f32_1-MLC"},
        {"model_id": "gemma-2-2b-it-q4f32_1-MLC"},
        {"model_id": "snowflake-arctic-embed-m-q0f32-MLC-b4", "model_type": 1},
    ]
    assert [is_vision_model(r["model_id"], records) for r in records] == [
        True,
        True,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("report", "words"),
    [
        ({"error": "not_image", "name": "notes.txt"}, "“notes.txt” is not an image"),
        ({"error": "unreadable", "name": "broken.png"}, "could not be read as an image"),
        ({"error": "too_large", "name": "huge.png"}, "too large even after making it smaller"),
        ({"url": "data:text/html;base64,AA==", "width": 1, "height": 1}, "could not be read"),
        ({"url": CAT.url, "width": 0, "height": 1}, "could not be read"),
    ],
)
def test_an_image_that_cannot_be_attached_says_why(report: dict[str, Any], words: str) -> None:
    message = attachment_from(report)
    assert isinstance(message, str)
    assert words in message


def test_a_downscaled_image_says_so() -> None:
    attached = attachment_from(
        {"url": CAT.url, "width": 1024, "height": 768, "name": "big.png", "original": [4000, 3000]}
    )
    assert isinstance(attached, Attachment)
    assert attached.downscaled
    assert attached.label() == "big.png, 1024x768 (made smaller from 4000x3000)"
