"""The chat app's entry point, run by PyScript: the app itself is ``chat_app.py``.

PyScript compiles this file at every boot; ``chat_app`` comes precompiled in the bundle
(``make vendor``). Its names are imported here so that the page's ``__main__`` holds
``client``, ``engine`` and ``render`` (the benchmarks and tests reach them there).
"""

from chat_app import STARTUP, client, engine, render

__all__ = ["STARTUP", "client", "engine", "render"]
