"""The real-engine kit (see README.md): its script is not a test module."""

collect_ignore = ["make_model.py"]
