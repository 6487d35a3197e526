"""The WebGPU panel: whether this browser can run the models, and what to do if not.

What it says comes from :mod:`app.logic.gpu` (plain Python), over what
``engine.webgpu_info()`` found at start-up (``ctx.gpu``) and the browser's user agent.
``#gpu-panel[data-webgpu]`` is "yes" or "no" (styles and tests use it).
"""

from __future__ import annotations

from typing import Any

from app.context import AppContext
from app.logic.gpu import advice

__all__ = ["mount"]


def mount(ctx: AppContext) -> None:
    doc = ctx.document
    try:
        user_agent = str(doc.defaultView.navigator.userAgent)
    except Exception:
        user_agent = ""
    found = advice(ctx.gpu, user_agent)
    panel = doc.getElementById("gpu-panel")
    panel.dataset.webgpu = "yes" if found.ok else "no"
    summary = doc.getElementById("gpu-summary")
    summary.textContent = found.headline
    facts = [("Browser", found.browser)]
    if found.ok:
        facts += [("Adapter", found.adapter), ("shader-f16", found.shader_f16)]
    else:
        facts.append(("Why", found.reason))
    dl = doc.getElementById("gpu-facts")
    dl.innerHTML = ""
    for term, value in facts:
        dl.appendChild(_element(doc, "dt", term))
        dd = _element(doc, "dd", value)
        dd.id = "gpu-" + term.split("-")[0].lower()
        dl.appendChild(dd)
    dl.hidden = False
    steps = doc.getElementById("gpu-steps")
    steps.innerHTML = ""
    for step in found.steps:
        steps.appendChild(_element(doc, "li", step))
    steps.hidden = not found.steps


def _element(doc: Any, tag: str, text: str) -> Any:
    element = doc.createElement(tag)
    element.textContent = text
    return element
