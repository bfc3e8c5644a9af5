"""A resolved asset: what the planner, the engine and the ledger work from."""

from __future__ import annotations

from typing import Any, NamedTuple

from wanplan.spec.dependencies import ASSET_PREFIX


class InputRef(NamedTuple):
    field: str
    source: str
    """A path relative to the project root, an https URL, or `asset:NAME`."""
    sha256: str | None
    """The file's digest; None for a URL or another asset's output."""
    upstream_key: str | None = None
    """For `asset:NAME`: that asset's content key (its bytes are known only once made)."""

    @property
    def is_url(self) -> bool:
        return self.source.startswith("https://")

    @property
    def upstream(self) -> str | None:
        """The address of the asset whose output this is, if it is one."""
        return self.source[len(ASSET_PREFIX) :] if self.upstream_key is not None else None

    @property
    def key_value(self) -> str:
        if self.upstream_key is not None:
            return f"asset:{self.upstream_key}"
        return f"url:{self.source}" if self.sha256 is None else f"sha256:{self.sha256}"


UNPINNED_SEED = "seed not pinned: the result is not reproducible"


class ResolvedAsset(NamedTuple):
    address: str
    file: str
    provider: str
    family: str | None
    model_id: str
    mode: str
    params: dict[str, Any]
    """Normalised generation parameters: prompt, resolution, duration, seed, ... and `params`."""
    inputs: tuple[InputRef, ...]
    output: str | None
    material: dict[str, Any]
    content_key: str
    warnings: tuple[str, ...] = ()
    """Why the result may not be reproducible, besides an unpinned seed (see `seed_pinned`)."""

    @property
    def seed_pinned(self) -> bool:
        extra = self.params.get("params") or {}
        return self.params.get("seed") is not None or extra.get("seed") is not None

    @property
    def cautions(self) -> tuple[str, ...]:
        """Every reason the result may not be reproducible, an unpinned seed first."""
        return (() if self.seed_pinned else (UNPINNED_SEED,)) + self.warnings

    @property
    def resolution(self) -> str:
        return str(self.params["resolution"])

    @property
    def upstreams(self) -> tuple[str, ...]:
        """The addresses of the assets whose outputs this one uses."""
        return tuple(i.upstream for i in self.inputs if i.upstream is not None)

    @property
    def duration(self) -> int | None:
        duration = self.params.get("duration")
        return int(duration) if duration is not None else None
