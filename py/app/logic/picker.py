"""The model picker's logic, in plain Python (``app/panels/picker.py`` draws it).

What each model looks like in ``#model-select``: its family group (from the model id),
its label and badges (memory, low-resource, shader-f16, downloaded), whether it can be
picked here, and the search filter.

>>> entry = describe({"model_id": "Llama-3.2-1B-Instruct-q4f16_1-MLC",
...                   "vram_required_MB": 879.04, "low_resource_required": True,
...                   "needs_shader_f16": True}, shader_f16=False)
>>> entry.group, entry.disabled
('Llama', True)
>>> entry.label
'Llama-3.2-1B-Instruct-q4f16_1-MLC · 0.9 GB · low-resource · needs shader-f16 (not on this GPU)'
>>> matches(entry, "llama Q4F16"), matches(entry, "qwen")
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.logic.images import is_vision_model
from app.logic.persistence import KEYS

__all__ = [
    "CUSTOM_GROUP",
    "DEFAULT_MODELS",
    "DEMO_GROUP",
    "DEMO_ID",
    "DEMO_LABEL",
    "STORAGE_KEY",
    "Badge",
    "Entry",
    "choose",
    "describe",
    "family",
    "group_entries",
    "is_demo",
    "matches",
    "memory_text",
]

#: Where the last choice is kept (``ctx.storage``).
STORAGE_KEY = KEYS.model
#: Preferred first choice: small, and runs without shader-f16.
DEFAULT_MODELS = (
    "Qwen2.5-0.5B-Instruct-q4f32_1-MLC",
    "Llama-3.2-1B-Instruct-q4f32_1-MLC",
)
#: The scripted demo (no language model, no download, no WebGPU).
DEMO_ID = "scripted-demo"
DEMO_LABEL = "Scripted demo (not a language model)"
CUSTOM_GROUP = "Custom models"
DEMO_GROUP = "No download"
OTHER_GROUP = "Other"

#: Families, first match wins (fine-tunes named after their base go with their own name).
_FAMILIES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("DeepSeek", r"^deepseek"),
        ("Hermes", r"^(open|neural)?hermes"),
        ("TinyLlama", r"^tinyllama"),
        ("Llama", r"^(meta-)?llama"),
        ("Qwen", r"^qwen"),
        ("Phi", r"^phi"),
        ("Gemma", r"^gemma"),
        ("Mistral", r"^(mistral|ministral|mixtral)"),
        ("SmolLM", r"^smollm"),
        ("OLMo", r"^olmo"),
        ("StableLM", r"^stablelm"),
        ("RedPajama", r"^redpajama"),
    )
)
#: The groups listed first, in this order; the other families follow alphabetically.
_FIRST = ("Llama", "Qwen", "Phi", "Gemma", "Mistral", "SmolLM")


def family(model_id: str) -> str:
    """The model's family, from its id.

    >>> [family(m) for m in ("Qwen2.5-0.5B-Instruct-q4f32_1-MLC", "gemma3-1b-it-q4f16_1-MLC",
    ...                      "Ministral-3-3B-Base-2512-q4f16_1-MLC", "phi-2-q4f16_1-MLC",
    ...                      "Hermes-3-Llama-3.1-8B-q4f32_1-MLC", "WizardMath-7B-V1.1-q4f16_1-MLC")]
    ['Qwen', 'Gemma', 'Mistral', 'Phi', 'Hermes', 'Other']
    """
    for name, pattern in _FAMILIES:
        if pattern.search(model_id):
            return name
    return OTHER_GROUP


def memory_text(vram_mb: float | None) -> str:
    """GPU memory a model needs, for people: GB with one decimal ("" if unknown).

    >>> memory_text(1128.82), memory_text(31153.13), memory_text(None)
    ('1.1 GB', '30.4 GB', '')
    """
    if not vram_mb:
        return ""
    return f"{vram_mb / 1024:.1f} GB"


def is_demo(model: Mapping[str, Any]) -> bool:
    """The scripted demo's record (``"scripted_demo": True``, or its id)."""
    return bool(model.get("scripted_demo")) or model.get("model_id") == DEMO_ID


@dataclass(frozen=True)
class Badge:
    """One mark of a model: ``kind`` (a CSS class suffix) and what it says."""

    kind: str
    text: str
    title: str = ""


@dataclass(frozen=True)
class Entry:
    """One option of the picker."""

    model_id: str
    label: str
    group: str
    badges: tuple[Badge, ...]
    disabled: bool = False
    custom: bool = False
    demo: bool = False


def describe(
    model: Mapping[str, Any],
    *,
    shader_f16: bool,
    custom: bool = False,
    cached: str | None = None,
) -> Entry:
    """A model (a dict of ``engine.models()``) as the picker shows it.

    ``cached`` is ``"complete"`` or ``"partial"`` when its files are in web-llm's cache.
    A model that needs shader-f16 is disabled when the GPU lacks it.

    >>> describe({"model_id": "Mine-q4f32_1-MLC"}, shader_f16=False, custom=True).label
    'Mine-q4f32_1-MLC · custom'
    >>> e = describe({"model_id": "scripted-demo", "scripted_demo": True}, shader_f16=False)
    >>> e.label, e.group, [b.text for b in e.badges]
    ('Scripted demo (not a language model)', 'No download', ['no download, no GPU'])
    >>> e = describe({"model_id": "SmolLM2-360M-Instruct-q4f32_1-MLC",
    ...               "vram_required_MB": 579.61}, shader_f16=True, cached="complete")
    >>> e.label, [b.kind for b in e.badges]
    ('SmolLM2-360M-Instruct-q4f32_1-MLC · 0.6 GB · downloaded', ['vram', 'downloaded'])
    >>> describe({"model_id": "Phi-3.5-vision-instruct-q4f32_1-MLC", "model_type": "VLM"},
    ...          shader_f16=True).label
    'Phi-3.5-vision-instruct-q4f32_1-MLC · reads images'
    """
    model_id = str(model["model_id"])
    if is_demo(model):
        badge = Badge("demo", "no download, no GPU", "Replays scripted replies: not a real model")
        label = str(model.get("display_name") or DEMO_LABEL)
        return Entry(model_id, label, DEMO_GROUP, (badge,), demo=True)
    badges: list[Badge] = []
    if custom:
        badges.append(Badge("custom", "custom", "A model you added"))
    memory = memory_text(model.get("vram_required_MB"))
    if memory:
        badges.append(Badge("vram", memory, f"Needs about {memory} of GPU memory"))
    if model.get("low_resource_required"):
        badges.append(Badge("low", "low-resource", "Runs on devices with little GPU memory"))
    disabled = False
    if model.get("needs_shader_f16"):
        if shader_f16:
            badges.append(Badge("f16", "needs shader-f16", "This GPU offers shader-f16"))
        else:
            disabled = True
            badges.append(
                Badge(
                    "f16-missing",
                    "needs shader-f16 (not on this GPU)",
                    "This GPU lacks the WebGPU feature shader-f16: pick the q4f32 variant",
                )
            )
    if is_vision_model(model_id, [model]):
        badges.append(Badge("vision", "reads images", "A vision model: attach images to ask about"))
    if cached == "complete":
        badges.append(Badge("downloaded", "downloaded", "In the browser's cache: loads offline"))
    elif cached == "partial":
        badges.append(Badge("partial", "partly downloaded", "The download resumes from here"))
    label = " · ".join([model_id, *(b.text for b in badges)])
    group = CUSTOM_GROUP if custom else family(model_id)
    return Entry(model_id, label, group, tuple(badges), disabled=disabled, custom=custom)


def group_entries(entries: Iterable[Entry]) -> list[tuple[str, list[Entry]]]:
    """The option groups: custom models, the demo, the main families, the others
    alphabetically, "Other" last; each in the catalogue's order.

    >>> ids = ["phi-2-q4f16_1-MLC", "OLMo-2-0425-1B-Instruct-q4f32_1-MLC",
    ...        "Qwen3-0.6B-q4f32_1-MLC", "WizardMath-7B-V1.1-q4f16_1-MLC",
    ...        "Llama-3.2-1B-Instruct-q4f32_1-MLC", "DeepSeek-R1-Distill-Qwen-7B-q4f16_1-MLC"]
    >>> entries = [describe({"model_id": m}, shader_f16=True) for m in ids]
    >>> entries.append(describe({"model_id": "Mine"}, shader_f16=True, custom=True))
    >>> entries.append(describe({"model_id": "scripted-demo"}, shader_f16=True))
    >>> [g for g, _ in group_entries(entries)]
    ['Custom models', 'No download', 'Llama', 'Qwen', 'Phi', 'DeepSeek', 'OLMo', 'Other']
    """
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(entry)
    head = [CUSTOM_GROUP, DEMO_GROUP, *_FIRST]

    def rank(name: str) -> tuple[int, str]:
        if name in head:
            return (head.index(name), "")
        return (len(head) + (name == OTHER_GROUP), name.lower())

    return [(name, groups[name]) for name in sorted(groups, key=rank)]


def matches(entry: Entry, query: str) -> bool:
    """Whether ``entry`` passes the search box: every word of ``query`` is a
    case-insensitive substring of its id or label (an empty query passes all).

    >>> e = describe({"model_id": "Qwen2.5-0.5B-Instruct-q4f32_1-MLC"}, shader_f16=True)
    >>> matches(e, ""), matches(e, "QWEN2.5"), matches(e, "qwen 0.5b"), matches(e, "llama")
    (True, True, True, False)
    """
    text = f"{entry.model_id} {entry.label} {entry.group}".lower()
    return all(word in text for word in query.lower().split())


def choose(available: Sequence[str], *candidates: str | None) -> str:
    """The first of ``candidates`` that is ``available``, else a default model, else the
    first available ("" when nothing is).

    >>> choose(["a", "Llama-3.2-1B-Instruct-q4f32_1-MLC", "b"], None, "gone")
    'Llama-3.2-1B-Instruct-q4f32_1-MLC'
    >>> choose(["a", "b"], "b"), choose(["a"], "x"), choose([])
    ('b', 'a', '')
    """
    for candidate in (*candidates, *DEFAULT_MODELS):
        if candidate and candidate in available:
            return candidate
    return available[0] if available else ""
