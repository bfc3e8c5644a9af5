"""`state mv`: rename an address without generating again, its output file with it."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import PurePosixPath

from wanplan import confine
from wanplan.apply import provenance
from wanplan.confine import OUTPUTS
from wanplan.errors import StateError
from wanplan.key.file_hashes import sha256_file
from wanplan.maintenance.addresses import recorded
from wanplan.project import Project, default_output_path
from wanplan.spec.model import NAME_PATTERN
from wanplan.state.base import StateReader, StateWriter
from wanplan.state.records import AssetRecord


@dataclass(frozen=True)
class Moved:
    record: AssetRecord
    """The record as it was, under the old address."""
    destination: str
    output_path: str
    """Where the output is recorded now (moved when it was at the old address's default)."""

    @property
    def file_moved(self) -> bool:
        return self.output_path != self.record.output_path


def planned_move(
    project: Project, state: StateReader, profile: str, source: str, destination: str
) -> Moved:
    """Where the record and its output would go; an error for a move that cannot be made."""
    if not NAME_PATTERN.match(destination):
        raise StateError(
            f"{destination}: not an asset address; use lowercase letters, digits, '.', '_' and "
            "'-', starting with a letter or digit"
        )
    if source == destination:
        raise StateError(f"{source}: the source and the destination are the same address")
    records = state.assets(profile)
    record = recorded(records, source, profile)
    if destination in records:
        raise StateError(
            f"{destination} is already in the state (profile {profile}); "
            f"`wanplan state rm {destination}` first if it should go"
        )
    extension = PurePosixPath(record.output_path).suffix.lstrip(".")
    target = record.output_path
    if record.output_path == default_output_path(source, profile, extension):
        target = default_output_path(destination, profile, extension)
    if target != record.output_path:
        if os.path.lexists(project.root / target):
            raise StateError(
                f"{target} already exists and is not {source}'s output; move or remove it first"
            )
        _check_movable(project, record, target)
    return Moved(record, destination, target)


def _check_movable(project: Project, record: AssetRecord, target: str) -> None:
    """Move only the file wanplan wrote: not a directory or anything else put in its place."""
    outputs = project.outputs_dir
    try:
        confine.check_destination(outputs, project.root / target, OUTPUTS)
        sidecar = provenance.sidecar_path(record.output_path)
        confine.check_destination(outputs, project.root / sidecar, OUTPUTS)
        if os.path.lexists(project.root / sidecar):
            confine.regular_file(project.root / sidecar)
    except confine.Confined as exc:
        raise StateError(f"{target} or its sidecar: {exc}; move it away first") from None
    old = project.root / record.output_path
    try:
        st = os.lstat(old)
    except FileNotFoundError:
        return  # nothing on disk: only the record moves
    except OSError as exc:
        raise StateError(f"{record.output_path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        what = confine.kind(st.st_mode)
        raise StateError(
            f"{record.output_path} is {what}, not the output wanplan wrote; move it away first "
            "(wanplan never moves what it did not write)"
        )
    unchanged = (st.st_size, st.st_mtime_ns) == (record.output_size, record.output_mtime_ns)
    if not unchanged and (
        st.st_size != record.output_size or sha256_file(old) != record.output_sha256
    ):
        raise StateError(
            f"{record.output_path} is not the output wanplan wrote (it was changed); move it "
            "away or `wanplan apply` to restore it first"
        )


def move(
    project: Project, state: StateWriter, profile: str, source: str, destination: str
) -> Moved:
    planned = planned_move(project, state, profile, source, destination)
    old, new = project.root / planned.record.output_path, project.root / planned.output_path
    move_file = planned.file_moved and old.exists()
    moved = False
    try:
        with state.transaction():
            state.move_asset(profile, source, destination, planned.output_path)
            if move_file:
                new.parent.mkdir(parents=True, exist_ok=True)
                os.replace(old, new)  # inside the transaction: if it fails, nothing is recorded
                moved = True
    except BaseException:
        if moved:  # the commit failed: the file goes back where the state says it is
            os.replace(new, old)
        raise
    provenance.move(project.root, planned.record, destination, planned.output_path)
    return planned
