"""Guards found in review: the same content paid once, one asset's surprise does not sink the
others, keys never echoed, no specs/ is not 'delete everything', outputs are not shared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.apply.test_apply import submits
from tests.conftest import Run, write_spec

TWIN = '[assets.{name}]\nmode = "t2v"\nmodel = "wan-2.5"\nprompt = "Twins."\nseed = 8\n'


def test_the_same_content_twice_in_one_plan_is_paid_once(
    run: Run, empty_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_spec(empty_project, "a.toml", TWIN.format(name="twin-a") + TWIN.format(name="twin-b"))
    document = json.loads(run(empty_project, "plan", "--format", "json").output)
    actions = {c["address"]: (c["action"], c["estimated_cost"]) for c in document["changes"]}
    assert actions == {"twin-a": ("create", "0.50"), "twin-b": ("reuse", "0.00")}
    seen = submits(monkeypatch)
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert len(seen) == 1 and "1 created" in result.output and "1 reused" in result.output
    a, b = (empty_project / "outputs" / f"twin-{x}.gif" for x in "ab")
    assert a.read_bytes() == b.read_bytes()


def test_one_assets_surprise_does_not_stop_the_others(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wanplan.blobs import store

    real = store.LocalBlobStore.copy_to

    def flaky(self: store.LocalBlobStore, sha256: str, destination: Path) -> None:
        if destination.name.startswith("poster"):
            raise RuntimeError("disk trouble")
        real(self, sha256, destination)

    monkeypatch.setattr(store.LocalBlobStore, "copy_to", flaky)
    result = run(project, "apply", "-y")
    assert result.exit_code == 1
    assert "5 created" in result.output
    assert "failed poster: unexpected RuntimeError: disk trouble" in result.output


def test_a_key_pasted_as_its_variable_name_is_never_echoed(run: Run, project: Path) -> None:
    secret = "ws-0123456789abcdefSECRET"
    (project / "wanplan.toml").write_text(f'[providers.wavespeed]\napi_key_env = "{secret}"\n')
    result = run(project, "plan")
    assert result.exit_code == 1
    assert "providers.wavespeed.api_key_env: must be the name of an environment variable" in (
        result.output
    )
    assert secret not in result.output


def test_a_key_pasted_anywhere_under_providers_is_never_echoed(run: Run, project: Path) -> None:
    secret = "ws-0123456789abcdefSECRET"
    for text in (
        f'[providers]\nwavespeed_api_key = "{secret}"\n',
        f'[providers.wavespeed]\nconcurrency = "{secret}"\n',
    ):
        (project / "wanplan.toml").write_text(text)
        result = run(project, "plan")
        assert result.exit_code == 1 and "wanplan.toml:2: providers." in result.output
        assert secret not in result.output


def test_no_specs_folder_is_an_error_not_a_plan_to_delete_everything(
    run: Run, project: Path
) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    (project / "specs").rename(project / "specs-moved")
    result = run(project, "plan")
    assert result.exit_code == 1
    assert "no specs/ folder" in result.output and "to delete" not in result.output


def test_two_assets_cannot_share_an_output_file(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "a.toml",
        '[assets.one]\nmode = "t2i"\nmodel = "wan-2.5"\nprompt = "a"\nseed = 1\noutput = "x"\n'
        '[assets.two]\nmode = "t2i"\nmodel = "wan-2.5"\nprompt = "b"\nseed = 2\noutput = "x"\n',
    )
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert "assets.two.output: writes the same output file as one" in result.output


def test_dates_in_params_are_refused_at_validation(run: Run, empty_project: Path) -> None:
    write_spec(
        empty_project,
        "a.toml",
        '[assets.d]\nmode = "t2v"\nmodel = "wan-2.5"\nprompt = "x"\nseed = 1\n'
        "params = { when = 1979-05-27T07:32:00Z }\n",
    )
    result = run(empty_project, "validate")
    assert result.exit_code == 1 and "params.when: dates and times" in result.output


def test_unreadable_settings_and_a_state_that_is_a_folder(run: Run, project: Path) -> None:
    (project / "state").mkdir(exist_ok=True)
    (project / "state" / "wanplan.db").mkdir()
    result = run(project, "plan")
    assert result.exit_code == 1 and "is not a file" in result.output
    (project / "state" / "wanplan.db").rmdir()
    (project / "wanplan.toml").unlink()
    (project / "wanplan.toml").mkdir()
    result = run(project, "plan")
    assert result.exit_code == 1 and "wanplan.toml: cannot read" in result.output


def test_a_state_write_asked_for_is_made_even_when_its_asset_is_cancelled(
    tmp_path: Path,
) -> None:
    """The engine's state calls wait their turn on a thread of their own; a Ctrl-C that
    cancels the asset meanwhile must not drop the write (a refused submit left `intent` would
    read as an unknown one)."""
    import asyncio
    import time

    from wanplan.apply.engine import ApplyEngine
    from wanplan.project import Project

    engine = ApplyEngine(Project.at(tmp_path), None, None, {})  # type: ignore[arg-type]
    written: list[str] = []

    async def cancel_while_queued() -> None:
        busy = asyncio.ensure_future(engine._store(time.sleep, 0.2))
        write = asyncio.ensure_future(engine._store(written.append, "failed: refused"))
        await asyncio.sleep(0.05)
        write.cancel()
        await busy

    try:
        asyncio.run(cancel_while_queued())
    finally:
        engine.close()
    assert written == ["failed: refused"]
