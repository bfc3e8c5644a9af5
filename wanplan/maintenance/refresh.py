"""`refresh`: check every recorded output and cached blob against its sha256, trusting no
size or mtime, and record what was found so that the next plan acts on it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from wanplan import confine
from wanplan.blobs import BlobStore
from wanplan.confine import OUTPUTS
from wanplan.maintenance.addresses import label
from wanplan.project import Project
from wanplan.state.base import StateWriter
from wanplan.state.records import AssetRecord

ALTERED_MTIME_NS = -1
"""Recorded for an altered output: no file has it, so the next plan hashes the file again
(even when the alteration kept its size and mtime) and shows a repair."""


@dataclass(frozen=True)
class CorruptBlob:
    sha256: str
    content_keys: tuple[str, ...]
    addresses: tuple[str, ...]
    """Recorded assets (labels) whose content needs these bytes."""


@dataclass
class RefreshReport:
    intact: list[AssetRecord] = field(default_factory=list)
    restamped: list[AssetRecord] = field(default_factory=list)
    """Intact, with a new mtime now recorded."""
    missing: list[AssetRecord] = field(default_factory=list)
    altered: list[AssetRecord] = field(default_factory=list)
    blobs_checked: int = 0
    corrupt_blobs: list[CorruptBlob] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.altered or self.corrupt_blobs)


def refresh(
    project: Project, state: StateWriter, blobs: BlobStore, profile: str | None = None
) -> RefreshReport:
    report = RefreshReport()
    every = state.all_assets()
    records = [r for r in every if profile is None or r.profile == profile]
    updates: list[AssetRecord] = []
    for record in records:
        path = project.root / record.output_path
        try:
            confine.check_folder(project.outputs_dir, path.parent, OUTPUTS)
            st = os.lstat(path)
            sha256 = confine.sha256_regular(path)  # never through a link, never a FIFO
        except FileNotFoundError:
            report.missing.append(record)
            continue
        except (OSError, confine.Confined):  # a folder, a link or an unreadable file: not it
            st, sha256 = None, None
        if st is None or st.st_size != record.output_size or sha256 != record.output_sha256:
            report.altered.append(record)
            if record.output_mtime_ns != ALTERED_MTIME_NS:
                updates.append(record._replace(output_mtime_ns=ALTERED_MTIME_NS))
        elif st.st_mtime_ns != record.output_mtime_ns:
            report.restamped.append(record)
            updates.append(record._replace(output_mtime_ns=st.st_mtime_ns))
        else:
            report.intact.append(record)
    corrupt = _corrupt_blobs(state, blobs, every, report)
    state.restamp_outputs(updates)  # one transaction
    if blobs.shared:  # a recorded generation promises its blob there: forget it first
        state.forget_generations([key for blob in corrupt for key in blob.content_keys])
    # After the state is committed: a blob removed is only a cost later, never an inconsistency.
    for blob in corrupt:
        blobs.remove(blob.sha256)
    report.corrupt_blobs = corrupt
    return report


def _corrupt_blobs(
    state: StateWriter, blobs: BlobStore, records: list[AssetRecord], report: RefreshReport
) -> list[CorruptBlob]:
    keys_by_blob: dict[str, list[str]] = {}
    for generation in state.all_generations():
        keys_by_blob.setdefault(generation.blob_sha256, []).append(generation.content_key)
    corrupt: list[CorruptBlob] = []
    for sha256, keys in keys_by_blob.items():
        if not blobs.has(sha256):
            continue
        report.blobs_checked += 1
        if blobs.is_intact(sha256):
            continue
        users = tuple(label(r) for r in records if r.content_key in keys)
        corrupt.append(CorruptBlob(sha256, tuple(keys), users))
    return corrupt
