"""The chat app built on :mod:`webllm_machine`.

- :mod:`app.logic`: pure Python, tested in CPython; imports nothing from ``js``,
  ``pyodide`` or ``pyscript`` (``tests/unit/test_app_layout.py`` checks it).
- :mod:`app.panels`: one module per part of the page, each with a ``mount(ctx)``; the only
  code that touches the DOM. A name in both folders marks a pair (``logic/picker.py`` says
  what ``panels/picker.py`` draws).
- :mod:`app.chat`: the chat's rules (:class:`~app.chat.ChatController`), over a client, a
  conversation store and a view protocol.
- :mod:`app.context`: what the panels share; :mod:`app.browser`: the browser APIs that are
  not the page (``localStorage``, the Cache API); :mod:`app.main`: the boot.
"""
