"""The pages' Python runs under PyScript in the browser (it imports ``js``): not collected."""

collect_ignore_glob = ["*.py"]
