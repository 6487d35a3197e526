"""The "Add a custom model" form (``#custom-model-form``) and the picker's Remove button.

What a custom model is, and how it is kept, is :mod:`app.logic.custom_models`; this module
reads the form, shows a bad field's error next to it (``#<input id>-error``), and tells the
picker when the list of models changed.
"""

from __future__ import annotations

from typing import Any

from pyscript import when  # type: ignore[import-not-found]

from app.context import AppContext
from app.logic.custom_models import FIELD_INPUTS, FORM_ERROR, form_error
from webllm_machine import InvalidRequestError, WebLLMError

__all__ = ["CustomModelForm", "mount"]

#: The form's inputs, by the name :meth:`app.logic.custom_models.CustomModels.add` takes.
INPUTS = {
    "model_id": "custom-model-id",
    "model_url": "custom-model-url",
    "model_lib_url": "custom-model-lib-url",
    "context_window_size": "custom-model-context",
}


class CustomModelForm:
    """The "Add a custom model" form (index.html, ``#custom-model-form``) over ``document``."""

    def __init__(self, document: Any) -> None:
        self.document = document

    def _el(self, element_id: str) -> Any:
        return self.document.getElementById(element_id)

    def values(self) -> dict[str, str]:
        return {name: str(self._el(element_id).value) for name, element_id in INPUTS.items()}

    def show_error(self, error: InvalidRequestError) -> str:
        """Show ``error`` next to the input of ``error.field`` (or under the form); moves
        the focus there. Returns the id of the element that shows it."""
        target_id, input_id, text = form_error(error)
        target = self._el(target_id)
        target.textContent = text
        target.hidden = False
        if input_id:
            element = self._el(input_id)
            element.setAttribute("aria-invalid", "true")
            element.focus()
        return target_id

    def clear_errors(self) -> None:
        for input_id in FIELD_INPUTS.values():
            self._el(input_id).removeAttribute("aria-invalid")
            self._el(f"{input_id}-error").hidden = True
        self._el(FORM_ERROR).hidden = True

    def reset(self) -> None:
        self.clear_errors()
        self._el("custom-model-form").reset()


def mount(ctx: AppContext, version: str) -> CustomModelForm:
    """Wire the form; ``version`` is the model-library version web-llm runs (shown in it)."""
    form = CustomModelForm(ctx.document)
    custom_models = ctx.custom_models
    el = ctx.document.getElementById
    status = el("status")

    @when("submit", "#custom-model-form")
    def on_add(event: Any) -> None:
        """Add the custom model the form describes; a bad field is shown next to it."""
        event.preventDefault()  # synchronous on purpose: the page must not navigate
        form.clear_errors()
        try:
            record = custom_models.add(form.values())
        except InvalidRequestError as error:
            form.show_error(error)
            return
        form.reset()
        el("custom-model").removeAttribute("open")
        ctx.choose_model((record.model_id,))
        ctx.models_changed()
        ctx.redraw()
        status.textContent = f"Added {record.model_id}. Load it to download it."

    @when("click", "#remove-model-button")
    def on_remove(_event: Any) -> None:
        model_id = ctx.selected()
        try:
            custom_models.remove(model_id)
        except WebLLMError as error:
            ctx.report(error)
            return
        ctx.choose_model(())
        ctx.models_changed()
        ctx.redraw()
        status.textContent = f"Removed {model_id}."

    el("custom-model-lib-version").textContent = version
    el("custom-model-add").disabled = False
    return form
