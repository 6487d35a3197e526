"""The app's pure Python: what the panels show and keep, tested in CPython."""
