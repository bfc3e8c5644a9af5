"""Write a new project's files, keeping any that already exist."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from wanplan import __version__, confine
from wanplan.errors import WanplanError

EXAMPLE_SPEC = ("specs/example.toml", "specs/example.toml")  # (template in files/, destination)
EXAMPLE_INPUT = "inputs/example.png"
# CI files by system: plan on pull requests, apply on the main branch.
CI_DESTINATIONS = {"github": ".github/workflows/wanplan.yml", "gitlab": ".gitlab-ci.wanplan.yml"}
VERSION_PLACEHOLDER = "@WANPLAN_VERSION@"
"""Where a template names the wanplan that writes it: CI installs exactly that version."""


@dataclass(frozen=True)
class Scaffold:
    """The templates in files/ that depend on where the state lives."""

    settings: str
    ci: dict[str, str]  # by CI system
    gitignore: str
    state_folder: bool  # the SQLite state's folder, committed with the project


SCAFFOLDS = {
    # One person, or CI that commits the state back: the SQLite file in git, the local cache.
    "sqlite": Scaffold(
        "wanplan.toml",
        {"github": "github-workflow.yml", "gitlab": "gitlab-ci.yml"},
        "gitignore",
        state_folder=True,
    ),
    # A team (PRODUCT §11): the state in PostgreSQL, the blobs in a bucket, both from CI secrets.
    "postgres": Scaffold(
        "team/wanplan.toml",
        {"github": "team/github-workflow.yml", "gitlab": "team/gitlab-ci.yml"},
        "team/gitignore",
        state_folder=False,
    ),
}


@dataclass
class InitResult:
    written: list[str]
    kept: list[str]


def init_project(
    root: Path, ci: Iterable[str] = tuple(CI_DESTINATIONS), backend: str = "sqlite"
) -> InitResult:
    """`ci` names the systems in CI_DESTINATIONS to write a workflow for; `backend` is a key of
    SCAFFOLDS."""
    scaffold = SCAFFOLDS[backend]
    result = InitResult([], [])
    for template, destination in (
        (scaffold.settings, "wanplan.toml"),
        EXAMPLE_SPEC,
        *((scaffold.ci[system], CI_DESTINATIONS[system]) for system in ci),
    ):
        _write(root, destination, template_text(template).encode("utf-8"), result)
    _append_gitignore(root, template_text(scaffold.gitignore), result)
    if not (root / EXAMPLE_INPUT).exists():
        from wanplan.providers.sim.media import still

        _write(root, EXAMPLE_INPUT, still(b"wanplan example input", "16:9"), result)
    if scaffold.state_folder:
        (root / "state").mkdir(exist_ok=True)
    return result


def template_text(name: str) -> str:
    """A template of files/ as `init` writes it."""
    text = resources.files("wanplan.scaffold").joinpath("files", name).read_text("utf-8")
    return text.replace(VERSION_PLACEHOLDER, __version__)


def _write(root: Path, relative: str, content: bytes, result: InitResult) -> None:
    path = root / relative
    if os.path.lexists(path):
        result.kept.append(relative)
        return
    _check(root, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: a file (or link) that appeared since is kept, never written through.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "wb") as file:
        file.write(content)
    result.written.append(relative)


def _check(root: Path, path: Path) -> None:
    try:
        confine.check_destination(root, path)
    except confine.Confined as exc:
        raise WanplanError(f"{path.relative_to(root).as_posix()} {exc}") from None


def _append_gitignore(root: Path, lines: str, result: InitResult) -> None:
    path = root / ".gitignore"
    existing = ""
    if os.path.lexists(path):
        _check(root, path)
        try:
            existing = confine.read_bytes(root, path).decode("utf-8", "replace")
        except confine.Confined as exc:
            raise WanplanError(f".gitignore {exc}") from None
    if ".wanplan/" in existing.split():
        result.kept.append(".gitignore")
        return
    separator = "" if not existing or existing.endswith("\n") else "\n"
    path.write_text(existing + separator + lines, "utf-8")
    result.written.append(".gitignore")
