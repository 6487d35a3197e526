"""The chat app's entry point, run by PyScript: the app itself is the ``app`` package.

PyScript compiles this file at every boot; ``app`` comes precompiled in the bundle
(``make vendor``). Its names are imported here so that the page's ``__main__`` holds
``client``, ``engine`` and ``render`` (the benchmarks and tests reach them there).
The ``app:import`` mark starts the app's own start-up; ``app:start`` measures it to "ready".
"""

from js import performance  # type: ignore[import-not-found]

performance.mark("app:import")

from app.main import STARTUP, client, engine, render  # noqa: E402

__all__ = ["STARTUP", "client", "engine", "render"]
