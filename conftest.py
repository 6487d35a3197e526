"""Repository-wide pytest settings: modules that only import under Pyodide are not
collected for doctests in CPython (they are exercised by the browser tests)."""

collect_ignore_glob = [
    "py/main.py",
    "py/app/main.py",
    "py/app/browser.py",
    "py/app/panels/*",
    "py/webllm_machine/webllm_engine.py",
]
