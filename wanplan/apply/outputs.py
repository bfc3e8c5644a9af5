"""Apply's outputs: a generated (or cached) blob written to its place in outputs/, recorded in
the state with what made it, its provenance sidecar beside it, and the output it replaces
removed. Only files inside outputs/ are written or removed, never through a link."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from wanplan import confine
from wanplan.apply import provenance
from wanplan.apply.download import Downloaded
from wanplan.apply.failures import AssetFailed
from wanplan.blobs import BlobStore
from wanplan.blobs.store import BlobDamaged
from wanplan.confine import OUTPUTS
from wanplan.cost.spend import Spend
from wanplan.errors import os_advice
from wanplan.plan.model import Plan, PlanChange
from wanplan.project import Project, declared_output_path
from wanplan.spec.resolved import ResolvedAsset
from wanplan.state.base import StateWriter
from wanplan.state.records import AssetRecord, now_iso

T = TypeVar("T")
StoreCall = Callable[..., Awaitable[Any]]
"""The engine's way to run a state or blob-store call off the event loop."""


@dataclass(frozen=True)
class Collected:
    """A finished task's result, downloaded and ready to record."""

    fetched: Downloaded
    task_id: str
    task_ref: int
    spend: Spend


class Outputs:
    def __init__(
        self, project: Project, state: StateWriter, blobs: BlobStore, store: StoreCall
    ) -> None:
        self.project = project
        self.state = state
        self.blobs = blobs
        self._store = store
        self.claimed: set[str] = set()
        """Every output path this apply writes, claimed before the file is written."""
        self.holders: dict[str, set[str]] = {}
        """The addresses whose recorded output is at each path, as the apply began (every
        profile's): a path another address holds is never removed, and written over only when
        that address changes in this apply too (it moves elsewhere: a swap)."""
        self.changing: set[str] = set()
        """The addresses this apply changes."""
        self.recorded: dict[str, str] = {}
        """The sha256 recorded for each output path as the apply began: a recorded result
        about to be written over or removed goes into the cache first if it is not there (the
        cache may have been emptied: its file is then the only copy)."""

    async def materialise(
        self,
        plan: Plan,
        change: PlanChange,
        blob_sha256: str,
        extension: str,
        collected: Collected | None = None,
    ) -> str:
        asset = change.asset
        assert asset is not None
        relative = declared_output_path(asset.address, asset.output, plan.profile, extension)
        self.claimed.add(relative)
        destination = self.project.root / relative
        try:
            confine.check_destination(self.project.outputs_dir, destination, OUTPUTS)
        except confine.Confined as exc:
            raise AssetFailed(f"{relative} {exc}") from None
        await asyncio.to_thread(
            self._check_not_foreign, asset.address, relative, destination, blob_sha256
        )
        # File creation is slow on some disks; in a thread, it does not hold up the polls and
        # submits of other assets.
        try:
            await asyncio.to_thread(self._keep_in_cache, relative, blob_sha256)
            await asyncio.to_thread(self.blobs.copy_to, blob_sha256, destination)
            st = os.stat(destination)
        except BlobDamaged:
            raise AssetFailed(
                f"{relative}: the cached copy of its result is damaged; run `wanplan refresh` "
                "to drop it (the next plan then shows what generating it again costs)"
            ) from None
        except OSError as exc:
            raise AssetFailed(
                f"{relative}: cannot be written ({exc.strerror or exc}); "
                f"{os_advice(exc)} (the result is in the cache: apply again restores it)"
            ) from None
        record = AssetRecord(
            address=asset.address,
            profile=plan.profile,
            content_key=asset.content_key,
            output_path=relative,
            output_sha256=blob_sha256,
            output_size=st.st_size,
            output_mtime_ns=st.st_mtime_ns,
            updated_at=now_iso(),
        )
        replaced = change.previous.output_path if change.previous is not None else None
        await self._store(self._record, plan, asset, record, collected, replaced)
        await self._write_provenance(asset, record)
        return relative

    def _record(
        self,
        plan: Plan,
        asset: ResolvedAsset,
        record: AssetRecord,
        collected: Collected | None,
        replaced: str | None,
    ) -> None:
        """In one transaction: what was generated (its generation, spend and task's close,
        when it was), and the asset's new current output; then the output it replaces, if
        elsewhere, is removed (in the same job: a Ctrl-C cannot come between). A task another
        runner collected first (it took the key over after this one stalled past its lease)
        is recorded once: its generation and spend are not written again."""
        with self.state.transaction():
            if collected is not None and self.state.take_collection(collected.task_ref):
                fetched = collected.fetched
                self.state.record_generation(
                    content_key=asset.content_key,
                    provider=asset.provider,
                    model_id=asset.model_id,
                    mode=asset.mode,
                    material=asset.material,
                    blob_sha256=fetched.sha256,
                    extension=fetched.extension,
                    media_type=fetched.media_type,
                    size=fetched.size,
                    task_id=collected.task_id,
                    address=asset.address,
                )
                self.state.record_spend(
                    task_ref=collected.task_ref,
                    provider=asset.provider,
                    address=asset.address,
                    profile=plan.profile,
                    content_key=asset.content_key,
                    amount=collected.spend.amount,
                    source=collected.spend.source,
                )
            self.state.set_asset(record)
        # The old file goes, unless this apply writes that path for another asset (two
        # assets that swap their output names) or another address's record holds it (one
        # an interrupted apply gave it).
        others = self.holders.get(replaced or "", set()) - {asset.address}
        if (
            replaced is not None
            and replaced != record.output_path
            and replaced not in self.claimed
            and not others
        ):
            self.remove(replaced)
            provenance.remove(self.project.root, replaced)

    def check_before_paying(self, address: str, output: str | None, profile: str) -> None:
        """`_check_not_foreign` before the submit, for every extension the result may have:
        a file in the way is found before the task is paid for, not after."""
        pattern = declared_output_path(address, output, profile, "*")
        folder = self.project.root / pattern.rpartition("/")[0]
        name = pattern.rpartition("/")[2]
        if not folder.is_dir():
            return
        for path in folder.glob(name):
            if provenance.is_sidecar(path.name) or not path.is_file():
                continue
            relative = self.project.relative(path)
            self._check_not_foreign(address, relative, path, blob_sha256=None)  # bytes unknown

    def _check_not_foreign(
        self, address: str, relative: str, destination: Path, blob_sha256: str | None
    ) -> None:
        """Never write over what would be lost: a file no address's record holds and that has
        no provenance file of wanplan's beside it (the user's), or another address's output
        that this apply does not move elsewhere; unless it holds these very bytes already (the
        same content, or what an interrupted apply wrote)."""
        others = self.holders.get(relative, set()) - {address}
        foreign = relative not in self.holders
        if not (others - self.changing or foreign) or not os.path.lexists(destination):
            return
        if foreign and os.path.isfile(self.project.root / provenance.sidecar_path(relative)):
            return  # wanplan wrote it (its provenance file is beside it), and forgot it since
        if blob_sha256 is not None:
            try:
                if confine.sha256_regular(destination) == blob_sha256:
                    return
            except (OSError, confine.Confined):
                pass
        if foreign:
            raise AssetFailed(
                f"{relative} is there already and wanplan did not write it; move it away, or "
                "name another output in the spec"
            )
        holder = sorted(others - self.changing)[0]
        raise AssetFailed(
            f"{relative} is {holder}'s output still; apply {holder} too (its change moves it "
            "elsewhere), or name another output"
        )

    async def _write_provenance(self, asset: ResolvedAsset, record: AssetRecord) -> None:
        details = await self._store(self.state.generation_details, asset.content_key)
        if details is None:
            return
        content = provenance.document(record, details, asset.inputs)
        try:
            await asyncio.to_thread(provenance.write, self.project.root, record, content)
        except OSError as exc:
            raise AssetFailed(
                f"{provenance.sidecar_path(record.output_path)}: cannot write the provenance "
                f"file ({exc.strerror or exc}); the output itself is in place and recorded"
            ) from None

    def _keep_in_cache(self, relative: str, written: str | None = None) -> None:
        """The recorded result at this path, into the cache if it is not there and the file
        still holds it (nothing to keep when the bytes `written` over it are the same)."""
        sha256 = self.recorded.get(relative)
        if sha256 is None or sha256 == written or self.blobs.has(sha256):
            return
        path = self.project.root / relative
        try:
            if confine.sha256_regular(path) == sha256:
                self.blobs.add_file(path)
        except (OSError, confine.Confined):
            return  # gone or altered: nothing recorded is left in it to keep

    def remove(self, relative: str) -> None:
        """Remove an output wanplan wrote: a file (or a link) inside outputs/, nothing else;
        its recorded result goes into the cache first where the cache lacks it."""
        path = self.project.root / relative
        try:
            confine.check_destination(self.project.outputs_dir, path, OUTPUTS)
        except confine.Confined:
            return  # not ours to remove: a folder, or a place outside outputs/
        self._keep_in_cache(relative)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise AssetFailed(
                f"{relative}: cannot be removed ({exc.strerror or exc}); {os_advice(exc)}"
            ) from None
