"""Write a new project's files, keeping any that already exist."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

# (template in files/, destination in the project)
TEMPLATES = (
    ("wanplan.toml", "wanplan.toml"),
    ("specs/example.toml", "specs/example.toml"),
)
EXAMPLE_INPUT = "inputs/example.png"
# CI files by system: plan on pull requests, apply on the main branch.
CI_TEMPLATES = {
    "github": ("github-workflow.yml", ".github/workflows/wanplan.yml"),
    "gitlab": ("gitlab-ci.yml", ".gitlab-ci.wanplan.yml"),
}


@dataclass
class InitResult:
    written: list[str]
    kept: list[str]


def init_project(root: Path, ci: Iterable[str] = tuple(CI_TEMPLATES)) -> InitResult:
    """`ci` names the systems in CI_TEMPLATES to write a workflow for."""
    result = InitResult([], [])
    files = resources.files("wanplan.scaffold").joinpath("files")
    for template, destination in (*TEMPLATES, *(CI_TEMPLATES[system] for system in ci)):
        _write(root, destination, files.joinpath(template).read_bytes(), result)
    _append_gitignore(root, files.joinpath("gitignore").read_text("utf-8"), result)
    if not (root / EXAMPLE_INPUT).exists():
        from wanplan.providers.sim.media import still

        _write(root, EXAMPLE_INPUT, still(b"wanplan example input", "16:9"), result)
    (root / "state").mkdir(exist_ok=True)
    return result


def _write(root: Path, relative: str, content: bytes, result: InitResult) -> None:
    path = root / relative
    if path.exists():
        result.kept.append(relative)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    result.written.append(relative)


def _append_gitignore(root: Path, lines: str, result: InitResult) -> None:
    path = root / ".gitignore"
    existing = path.read_text("utf-8") if path.exists() else ""
    if ".wanplan/" in existing.split():
        result.kept.append(".gitignore")
        return
    separator = "" if not existing or existing.endswith("\n") else "\n"
    path.write_text(existing + separator + lines, "utf-8")
    result.written.append(".gitignore")
