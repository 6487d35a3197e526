"""The GitHub workflows cannot run here: check their structure instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict)
    # PyYAML reads the key `on` as the boolean True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def uses(job: dict[str, Any]) -> list[str]:
    return [s["uses"].split("@")[0] for s in steps(job) if "uses" in s]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(s.get("run", "") for s in steps(job))


def test_ci_runs_the_readme_test_command_on_pushes_and_pull_requests() -> None:
    ci = load("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    job = ci["jobs"]["test"]
    assert "actions/checkout" in uses(job)
    assert "chromium" in runs(job)
    assert "make test" in runs(job)
    assert "make test" in (WORKFLOWS.parents[1] / "README.md").read_text()


def test_pages_builds_the_vendored_site_and_deploys_it_with_the_official_actions() -> None:
    pages = load("pages.yml")
    assert "push" in pages["on"]
    assert pages["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    build, deploy = pages["jobs"]["build"], pages["jobs"]["deploy"]
    assert "make vendor" in runs(build)
    assert "tools/site.py" in runs(build)
    assert "actions/upload-pages-artifact" in uses(build)
    upload = next(s for s in steps(build) if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "_site"
    assert deploy["needs"] == "build"
    assert uses(deploy) == ["actions/deploy-pages"]
    assert deploy["environment"]["name"] == "github-pages"


def test_every_action_is_pinned_to_a_version() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = yaml.safe_load(path.read_text())
        for job in text["jobs"].values():
            for step in job["steps"]:
                if "uses" in step:
                    name, _, version = step["uses"].partition("@")
                    assert version, f"{path.name}: {name} has no version"
