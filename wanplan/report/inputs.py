"""What each output was made from: its inputs as the state records them (a file's sha256,
another asset's content key, a URL), with the path each file was read from.

The state keeps no input paths, only digests: a path comes from the output's provenance
sidecar, else from the state's file stamps. Either can be edited by anyone, so a file is shown
only when its bytes still hash to the digest the generation used, and only if it is an image,
video or audio file: nothing else of the project (a `.env`) ever lands in a published report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from wanplan import confine
from wanplan.apply.provenance import sidecar_path
from wanplan.project import OUTPUTS_DIR, Project
from wanplan.report.figure import MEDIA_EXTENSIONS, extension_of
from wanplan.state.base import StateReader


class Input(NamedTuple):
    field: str
    label: str
    """The file's path, `asset:NAME`, or a URL without its query (which may hold a token)."""
    source: Path | None = None
    """The file to show (resolved, inside the project), when it is still the one used."""
    upstream: str | None = None
    """For another asset's output: that asset's address, when the state knows it."""
    note: str | None = None
    """Why no file is shown, or that an upstream asset has been made again since."""


class InputFinder:
    def __init__(
        self, project: Project, state: StateReader, current: Mapping[str, tuple[str, Path | None]]
    ) -> None:
        self.project = project
        self.state = state
        self.current = current
        """Content key → the address whose current output it is, and that output's file."""
        stamps = state.file_stamps()
        self.stamps = stamps
        self._paths_by_digest: dict[str, str] = {}
        for path, stamp in sorted(stamps.items(), reverse=True):
            self._paths_by_digest[stamp.sha256] = path

    def inputs(self, material: Mapping[str, Any], output_path: str) -> list[Input]:
        declared = material.get("inputs")
        if not isinstance(declared, dict):
            return []
        sidecar = self._sidecar_paths(output_path)
        found = []
        for field, value in sorted(declared.items()):
            kind, _, rest = str(value).partition(":")
            if kind == "sha256":
                found.append(self._file(field, rest, sidecar.get((field, rest))))
            elif kind == "asset":
                found.append(self._asset(field, rest))
            else:
                found.append(Input(field, _without_query(rest)))
        return found

    def _file(self, field: str, digest: str, sidecar_path: str | None) -> Input:
        path = sidecar_path or self._paths_by_digest.get(digest)
        if path is None:
            return Input(field, f"sha256:{digest[:12]}", note="its path is not recorded")
        if extension_of(path) not in MEDIA_EXTENSIONS:
            return Input(field, path)
        try:
            real = confine.resolved_inside(self.project.root, self.project.root / path)
            unchanged = self._digest(path, real) == digest
        except confine.Confined:
            return Input(field, path, note="not shown: outside the project or not a file")
        except OSError:
            return Input(field, path, note="missing")
        if not unchanged:
            return Input(field, path, note="changed since: not the file this was made from")
        return Input(field, path, source=real)

    def _digest(self, path: str, real: Path) -> str:
        stamp = self.stamps.get(path)
        if stamp is not None and stamp.matches(real.stat()):
            return stamp.sha256
        return confine.sha256_regular(real)

    def _asset(self, field: str, content_key: str) -> Input:
        if content_key in self.current:
            address, source = self.current[content_key]
            return Input(field, f"asset:{address}", source, upstream=address)
        earlier = (self.state.generation_details(content_key) or {}).get("address")
        if not earlier:
            return Input(field, "another asset's output", note="no longer recorded")
        note = "made again since: this used an earlier version"
        return Input(field, f"asset:{earlier}", upstream=str(earlier), note=note)

    def _sidecar_paths(self, output_path: str) -> dict[tuple[str, str], str]:
        """(field, sha256) → path, from the provenance beside the output (when it is readable)."""
        outputs = self.project.root / OUTPUTS_DIR
        try:
            document = json.loads(
                confine.read_bytes(outputs, self.project.root / sidecar_path(output_path))
            )
        except (confine.Confined, OSError, ValueError, RecursionError):
            return {}
        listed = document.get("inputs") if isinstance(document, dict) else None
        return {
            (str(item["field"]), str(item["sha256"])): str(item["path"])
            for item in (listed if isinstance(listed, list) else [])
            if isinstance(item, dict) and {"field", "sha256", "path"} <= item.keys()
        }


def _without_query(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "a URL"
    # No query and no user:password@: a report is published, a URL's secrets are not.
    return f"{parts.scheme}://{host}{port}{parts.path}" if host else "a URL"
