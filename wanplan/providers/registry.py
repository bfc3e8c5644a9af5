"""Every provider wanplan knows, in one place. Built-ins are named here; third-party providers
register through the `wanplan.providers` entry-point group. Modules load only when used."""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, cast

from wanplan.errors import WanplanError

if TYPE_CHECKING:
    from wanplan.providers.base import Provider

ENTRY_POINT_GROUP = "wanplan.providers"

BUILTIN: dict[str, str] = {
    "sim": "wanplan.providers.sim.provider:SimProvider",
    "wavespeed": "wanplan.providers.wavespeed:WaveSpeedProvider",
    "dashscope": "wanplan.providers.dashscope:DashScopeProvider",
    "apixo": "wanplan.providers.apixo:ApixoProvider",
    "wanapi": "wanplan.providers.wanapi:WanapiProvider",
}


@cache
def _plugins() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def provider_names() -> frozenset[str]:
    return frozenset(BUILTIN) | frozenset(_plugins())


def plugin_catalogs() -> list[str]:
    """Catalog TOML texts that third-party providers bring (`catalog_toml()` on their class)."""
    texts = []
    for name in sorted(_plugins()):
        source = getattr(provider_class(name), "catalog_toml", None)
        if callable(source):
            texts.append(str(source()))
    return texts


def provider_class(name: str) -> type[Provider]:
    target = BUILTIN.get(name) or _plugins().get(name)
    if target is None:
        raise WanplanError(
            f"unknown provider '{name}'; available: {', '.join(sorted(provider_names()))}"
        )
    module_name, _, attribute = target.partition(":")
    return cast("type[Provider]", getattr(importlib.import_module(module_name), attribute))
