"""A wanplan project on disk: its root, its settings and where everything lives."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from wanplan import confine
from wanplan.config import CONFIG_FILE, Config, load_config
from wanplan.errors import StateError, WanplanError
from wanplan.spec.load import SPECS_DIR

if TYPE_CHECKING:
    from wanplan.catalog.model import Catalog

OUTPUTS_DIR = "outputs"
DEFAULT_PROFILE = "default"
"""The profile of a plain `plan` and `apply`; its outputs sit directly in outputs/."""
CACHE_DIR = ".wanplan"
SIDECAR_SUFFIX = ".wanplan.json"
"""An output's provenance file: `<output>.wanplan.json` beside it."""


def outputs_of(profile: str) -> str:
    """outputs/, or outputs/<profile>/ for another profile than the default."""
    return OUTPUTS_DIR if profile == DEFAULT_PROFILE else f"{OUTPUTS_DIR}/{profile}"


def default_output_path(address: str, profile: str, extension: str) -> str:
    """Where an asset's output goes when its spec names none."""
    return f"{outputs_of(profile)}/{address}.{extension}"


def declared_output_path(address: str, output: str | None, profile: str, extension: str) -> str:
    """outputs/<address>.<ext>, or the spec's `output` (its extension added where it has none);
    other profiles under outputs/<profile>/."""
    if output is None:
        return default_output_path(address, profile, extension)
    if "." not in output.rsplit("/", 1)[-1]:
        output = f"{output}.{extension}"
    return f"{outputs_of(profile)}/{output}"


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def at(cls, directory: Path | str = ".") -> Project:
        return cls(Path(directory).resolve())

    @cached_property
    def config(self) -> Config:
        """The settings (SettingsError when invalid; `spec.declared.settings` adds the specs'
        own problems, for the commands that read specs)."""
        return load_config(self.root)

    def require(self) -> None:
        """Refuse a folder that is no project: there the state reads as empty, and a command
        would report nothing, or write where nobody asked."""
        if (self.root / CONFIG_FILE).is_file() or (self.root / SPECS_DIR).is_dir():
            return
        raise WanplanError(
            f"{self.root} is not a wanplan project (no {CONFIG_FILE}, no {SPECS_DIR}/): "
            "name one with -C DIR, or make one here with `wanplan init`"
        )

    @cached_property
    def catalog(self) -> Catalog:
        """The catalog with this project's prices.toml applied."""
        from wanplan.catalog import load_catalog
        from wanplan.catalog.team_prices import load_team_prices

        catalog = load_catalog()
        return catalog.with_prices(load_team_prices(self.root, catalog))

    @property
    def state_path(self) -> Path:
        return self.root / self.config.project.state

    @property
    def outputs_dir(self) -> Path:
        return self.root / OUTPUTS_DIR

    @property
    def cache_dir(self) -> Path:
        return self.root / CACHE_DIR

    def check_confined(self) -> None:
        """Refuse to write when outputs/ or the cache (or the cache's folders) is a link. Git
        keeps symlinks: a merged pull request can plant one, and even a link that stays inside
        (outputs -> state) would have outputs overwrite the journal. (The state's own files
        are its store's to check.)"""
        for label, path in (
            ("outputs/", self.outputs_dir),
            (".wanplan/", self.cache_dir),
            (".wanplan/blobs/", self.cache_dir / "blobs"),
            (".wanplan/tmp/", self.cache_dir / "tmp"),
        ):
            if not path.is_symlink():
                continue
            try:
                confine.resolved_inside(self.root, path)
            except confine.Confined:
                raise StateError(
                    f"{label} ({self.relative(path)}) is a link that leads out of the project to "
                    f"{os.readlink(path)}; remove the link, wanplan writes only inside the project"
                ) from None
            raise StateError(
                f"{label} is a link (to {os.readlink(path)}); wanplan keeps its outputs and "
                "cache in real folders of the project: replace the link with a folder"
            )

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()
