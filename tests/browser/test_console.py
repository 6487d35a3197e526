"""The Python console in the app (app/panels/console.py), as a Python developer uses it: the
editor loaded when the panel opens, cells over the app's own client, tracebacks, Stop, text
output, a namespace that lasts until Reset, and the chat kept consistent meanwhile."""

from __future__ import annotations

from helpers import PageLog, expect_state, load_model, open_app, shot
from playwright.sync_api import Page, expect

from app.logic.persistence import KEYS

LONG = " ".join(f"word{i}" for i in range(400))
EDITOR = "#py-editor .cm-content"


def open_console(page: Page) -> None:
    page.click("#python-panel > summary")
    expect(page.locator("#py-editor")).to_have_attribute("data-editor", "codemirror")
    expect(page.locator("#py-run")).to_be_enabled()


def write_code(page: Page, code: str) -> None:
    """Replace the editor's text by typing (the editor is focusable and edits as typed)."""
    page.click(EDITOR)
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(code)


def run(page: Page, code: str) -> str:
    """Run ``code`` and return the text of its output cell."""
    before = page.locator("#py-output .py-cell").count()
    write_code(page, code)
    page.click("#py-run")
    expect(page.locator("#python-panel")).to_have_attribute("data-running", "false")
    cells = page.locator("#py-output .py-cell-out")
    expect(cells).to_have_count(before + 1)
    return str(cells.nth(before).text_content())


def test_the_editor_loads_only_when_the_panel_opens(page: Page, page_log: PageLog) -> None:
    open_app(page, {"reply": "ok"})
    page.wait_for_timeout(500)  # after "ready": whatever the app loads on its own
    ours = ("/static/js/py-editor.js", "/static/vendor/codemirror/")
    editor_files = [u for u in page_log.requests if any(part in u for part in ours)]
    assert editor_files == []
    open_console(page)
    assert any(u.endswith("/static/js/py-editor.js") for u in page_log.requests)
    assert any(u.endswith("/static/vendor/codemirror/codemirror.mjs") for u in page_log.requests)
    # #py-editor takes the focus; typing edits the code, with Python highlighting.
    page.focus("#py-editor")
    page.keyboard.press("Control+A")
    page.keyboard.type("answer = 6 * 7")
    expect(page.locator(EDITOR)).to_have_text("answer = 6 * 7")
    write_code(page, "answer = 6 * 7\nanswer")
    expect(page.locator(EDITOR)).to_contain_text("answer = 6 * 7")
    assert page.locator("#py-editor .cm-line span").count() > 0
    assert page_log.errors() == []


def test_cells_print_return_raise_and_share_a_namespace(page: Page, page_log: PageLog) -> None:
    open_app(page, {"reply": "ok"})
    open_console(page)
    assert run(page, "x = 20\nprint('hello from python')\nx + 22") == "hello from python\n42\n"
    assert run(page, "x * 2") == "40\n"  # the namespace lasts between runs
    out = run(page, "def f(a):\n    return 1 / a\n\nf(0)")
    assert out.startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in out and "console.py" not in out
    expect(page.locator("#py-output .py-error")).to_have_count(1)
    shot(page, "console-traceback", "#python-panel")
    # Output that looks like HTML stays text.
    out = run(page, "print('<img src=x onerror=\"window.pwned=1\">')")
    assert out == '<img src=x onerror="window.pwned=1">\n'
    assert page.locator("#py-output img").count() == 0
    assert page.evaluate("window.pwned") is None
    page.click("#py-reset")
    assert "NameError: name 'x' is not defined" in run(page, "x")
    page.click("#py-clear")
    expect(page.locator("#py-output .py-cell")).to_have_count(0)
    assert page_log.errors() == []


def test_an_example_runs_on_the_scripted_demo(page: Page, page_log: PageLog) -> None:
    open_app(page)  # no network, no WebGPU needed: the scripted demo
    page.select_option("#model-select", "scripted-demo")
    page.click("#load-button")
    expect_state(page, "ready")
    open_console(page)
    page.select_option("#py-examples", label="Ask the loaded model one question")
    expect(page.locator(EDITOR)).to_contain_text("await client.start_chat(")
    page.keyboard.press("Control+Enter")  # runs, as Run does
    expect(page.locator("#python-panel")).to_have_attribute("data-running", "false")
    out = str(page.locator("#py-output .py-cell-out").last.text_content())
    assert "Usage(" in out and "Traceback" not in out
    expect_state(page, "ready")
    # The console's events are the app's: the statechart's log shows them.
    expect(page.locator("#event-log li[data-event='START_CHAT']").first).to_be_attached()
    shot(page, "console-example", "#python-panel")
    assert page_log.errors() == []


def test_stop_ends_a_streamed_reply_and_the_chat_refuses_send_meanwhile(
    page: Page, page_log: PageLog
) -> None:
    open_app(page, {"reply": LONG, "tokenDelayMs": 30})
    load_model(page)
    open_console(page)
    write_code(
        page,
        "async for delta in client.stream_chat([{'role': 'user', 'content': 'Go'}]):\n"
        "    print(delta, end='')\n",
    )
    page.click("#py-run")
    expect(page.locator("#python-panel")).to_have_attribute("data-running", "true")
    expect_state(page, "chatting")  # the chat shows the machine generating
    expect(page.locator("#py-output .py-cell-out")).to_contain_text("word5")
    # The chat refuses Send with the library's BusyError, and keeps what was typed.
    page.fill("#prompt", "Me too")
    page.press("#prompt", "Enter")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-title")).to_have_text("Busy")
    expect(page.locator("#prompt")).to_have_value("Me too")
    page.click("#py-stop")
    expect(page.locator("#python-panel")).to_have_attribute("data-running", "false")
    expect_state(page, "ready")
    expect(page.locator("#py-output .py-stopped")).to_have_text("Stopped.\n")
    partial = str(page.locator("#py-output .py-cell-out").last.text_content())
    assert partial.startswith("word0 word1") and "word399" not in partial
    # The machine kept the partial reply, as the chat's Stop does.
    kept = run(page, "m = client.get_state().context.messages[-1]\n(m.role, len(m.content) > 0)")
    assert kept == "('assistant', True)\n"
    assert run(page, "client.get_state().context.finish_reason") == "'abort'\n"
    assert page_log.errors() == []


def test_the_code_is_kept_across_a_reload_and_never_run_by_itself(page: Page) -> None:
    open_app(page, {"reply": "ok"})
    open_console(page)
    write_code(page, "print('ran')\nwindow_flag = 1")
    page.wait_for_function(f"(localStorage.getItem({KEYS.console_code!r}) || '').includes('ran')")
    page.reload()
    open_console(page)
    expect(page.locator(EDITOR)).to_contain_text("print('ran')")
    expect(page.locator("#py-output .py-cell")).to_have_count(0)  # not run without Run
