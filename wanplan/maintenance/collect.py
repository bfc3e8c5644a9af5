"""`gc`: remove the cached blobs that no current asset uses, and staging files left behind by
an interrupted apply."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wanplan.blobs import BlobStore, StoredFile
from wanplan.key.file_hashes import FileHasher, FileStamp
from wanplan.project import DEFAULT_PROFILE, Project
from wanplan.spec.declared import resolve_specs
from wanplan.state.base import StateReader, StateWriter


@dataclass
class Collection:
    blobs: list[StoredFile] = field(default_factory=list)
    leftovers: list[StoredFile] = field(default_factory=list)
    """Staging files; removable because the caller holds the state lock (no apply writes)."""

    @property
    def count(self) -> int:
        return len(self.blobs) + len(self.leftovers)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.blobs) + sum(f.size for f in self.leftovers)


def in_use(state: StateReader, keep: Iterable[str] = ()) -> set[str]:
    """The blobs that any profile's current assets are made of, and those of the content
    keys in `keep`."""
    blob_of = {g.content_key: g.blob_sha256 for g in state.all_generations()}
    used: set[str] = set()
    for record in state.all_assets():
        used.add(record.output_sha256)
        if record.content_key in blob_of:
            used.add(blob_of[record.content_key])
    used.update(blob_of[key] for key in keep if key in blob_of)
    return used


def declared_content_keys(project: Project, stamps: Mapping[str, FileStamp]) -> set[str]:
    """The content keys the specs declare, in every profile: a blob one of them can reuse
    (an asset removed from the state, say) is not garbage. `stamps`: the state's record of
    the input files, so that unchanged ones are not hashed again."""
    catalog = project.catalog  # with its prices.toml, as plan has it
    hasher = FileHasher(project.root, stamps)
    keys: set[str] = set()
    for profile in [DEFAULT_PROFILE, *project.config.profiles]:
        keys.update(a.content_key for a in resolve_specs(project, hasher, catalog, profile))
    return keys


def _output_leftovers(project: Project) -> list[Path]:
    """The temporary files an apply killed mid-write leaves in outputs/ (a result being
    copied, `.wanplan-*.part`; a provenance file, `.<name>.wanplan.json.*.part`), found
    without following links."""
    found: list[Path] = []
    if not project.outputs_dir.is_dir() or project.outputs_dir.is_symlink():
        return found
    for folder, _, files in os.walk(project.outputs_dir, followlinks=False):
        for name in files:
            if name.endswith(".part") and (
                name.startswith(".wanplan-") or ".wanplan.json." in name
            ):
                path = Path(folder) / name
                if path.is_file() and not path.is_symlink():
                    found.append(path)
    return found


def collect_garbage(
    state: StateWriter,
    blobs: BlobStore,
    *,
    dry_run: bool,
    keep: Iterable[str] = (),
    project: Project | None = None,
) -> Collection:
    used = in_use(state, keep)
    outputs = (
        {project.relative(path): path for path in _output_leftovers(project)}
        if project is not None
        else {}
    )
    found = Collection(
        blobs=[b for b in blobs.blobs() if b.name not in used],
        leftovers=[
            *blobs.leftovers(),
            *(StoredFile(name, path.stat().st_size) for name, path in outputs.items()),
        ],
    )
    if not dry_run:
        if blobs.shared:  # a recorded generation promises its blob there: forget it first
            removed = {blob.name for blob in found.blobs}
            stale = [g.content_key for g in state.all_generations() if g.blob_sha256 in removed]
            state.forget_generations(stale)
        for blob in found.blobs:
            blobs.remove(blob.name)
        for leftover in found.leftovers:
            if leftover.name in outputs:  # the caller holds the state lock: no apply writes
                outputs[leftover.name].unlink(missing_ok=True)
            else:
                blobs.remove_leftover(leftover.name)
    return found


def format_bytes(size: int) -> str:
    """1023 B, 1.5 KiB, 12.3 MiB, 2.0 GiB."""
    if size < 1024:
        return f"{size} B"
    amount = size / 1024
    for unit in ("KiB", "MiB"):
        if amount < 1024:
            return f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"
