"""The version of an asset before its current one.

The state keeps no history of an address beyond the ledger, which records every collected
task with its address, profile and content key: the latest other content key there is the
version before (a reverted spec reuses a cached key without a task, and the version it
replaced is still found). Its bytes are shown from this disk's cache only (a report never
downloads from a shared cache); once `gc` removed them the page says so."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from wanplan import confine
from wanplan.backends import open_disk_cache
from wanplan.project import Project
from wanplan.report.figure import MEDIA_EXTENSIONS
from wanplan.state.base import StateReader

UNKNOWN_EXTENSION = "bin"


class Earlier(NamedTuple):
    content_key: str
    blob: Path | None
    """Its bytes in this disk's cache (resolved), or None when they are gone."""
    extension: str
    generated_at: str | None
    prompt: str | None


def keys_by_asset(ledger: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[str]]:
    """(address, profile) → the content keys of its collected tasks, oldest first."""
    keys: dict[tuple[str, str], list[str]] = {}
    for row in ledger:
        keys.setdefault((str(row["address"]), str(row["profile"])), []).append(
            str(row["content_key"])
        )
    return keys


class EarlierFinder:
    def __init__(self, project: Project, state: StateReader, ledger: Iterable[Mapping[str, Any]]):
        self.project = project
        self.state = state
        self.keys = keys_by_asset(ledger)
        self.cache = open_disk_cache(project)

    def before(self, address: str, profile: str, current: str) -> Earlier | None:
        earlier = [key for key in self.keys.get((address, profile), []) if key != current]
        if not earlier:
            return None
        key = earlier[-1]
        details = self.state.generation_details(key) or {}
        extension = str(details.get("extension") or "").lower()
        return Earlier(
            content_key=key,
            blob=self._cached(str(details.get("blob_sha256") or "")),
            extension=extension if extension in MEDIA_EXTENSIONS else UNKNOWN_EXTENSION,
            generated_at=details.get("created_at"),
            prompt=((details.get("material") or {}).get("params") or {}).get("prompt"),
        )

    def _cached(self, sha256: str) -> Path | None:
        if not self.cache.has(sha256):
            return None
        try:
            return confine.resolved_inside(self.project.root, self.cache.local_path(sha256))
        except confine.Confined:
            return None
