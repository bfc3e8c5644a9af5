"""A provider from another package, registered through the `wanplan.providers` entry points,
works like a built-in: its catalog entries, its key, plan and apply."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from tests.conftest import Run, write_spec
from wanplan.catalog import model as catalog_model
from wanplan.providers import registry


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    point = EntryPoint("acme", "tests.plugin_provider:AcmeProvider", registry.ENTRY_POINT_GROUP)

    def entry_points(group: str) -> list[EntryPoint]:
        return [point] if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry, "entry_points", entry_points)
    registry._plugins.cache_clear()
    catalog_model.load_catalog.cache_clear()
    yield
    registry._plugins.cache_clear()
    catalog_model.load_catalog.cache_clear()


def test_a_plugin_provider_plans_and_applies(
    acme: None, run: Run, empty_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "acme" in registry.provider_names()
    write_spec(
        empty_project,
        "a.toml",
        '[assets.a]\nprovider = "acme"\nmode = "t2v"\nmodel = "wan-2.5"\nprompt = "x"\nseed = 1\n',
    )
    plan = run(empty_project, "plan")
    assert "acme/wan25-t2v" in plan.output and "$0.35" in plan.output
    monkeypatch.delenv("ACME_API_KEY", raising=False)
    assert "set ACME_API_KEY" in run(empty_project, "apply", "-y").output
    monkeypatch.setenv("ACME_API_KEY", "k")
    applied = run(empty_project, "apply", "-y")
    assert applied.exit_code == 0, applied.output
    assert "1 created" in applied.output
    models = run(empty_project, "models", "--provider", "acme").output
    assert "acme/wan25-t2v" in models and "acme price list" in models
