"""A recognisable fake key in every provider variable, through a project's whole life: init,
plan, saved plan, apply against the emulator, a failing apply, a refused key, cost, report,
graph, show, a crash. The key appears in no file written and in no output (PRODUCT §10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import KEY_VARIABLES, Run, emulator_for_wanplan, write_spec
from wanplan.emulator import Knobs

CANARY = "sk-CANARY-7d1e9f3b2a5c4e8d"
SPEC = """version = 1
[defaults]
provider = "{provider}"
model = "{family}"
mode = "t2v"
resolution = "720p"
duration = 5

[assets.ok-shot]
prompt = "A quiet harbour at dawn."
seed = 1

[assets.bad-shot]
prompt = "[fail] A storm."
seed = 2
"""


def every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


@pytest.mark.parametrize(
    ("provider", "family"),
    [
        ("wavespeed", "wan-2.5"),
        ("dashscope", "wan-2.5"),
        ("apixo", "wan-2.5"),
        ("wanapi", "wan-2.2"),
    ],
)
def test_the_key_is_never_written_or_printed(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str, family: str
) -> None:
    root = tmp_path / "project"
    outputs: list[Result] = []

    def wanplan(*args: str) -> Result:
        result = run(root, *args)
        outputs.append(result)
        assert result.exit_code != 3, result.output  # a crash here would be a bug of its own
        return result

    root.mkdir()
    with emulator_for_wanplan(monkeypatch, Knobs(latency=0.2, time_scale=0.01), CANARY) as emu:
        assert wanplan("init").exit_code == 0
        write_spec(root, "canary.toml", SPEC.format(provider=provider, family=family))
        wanplan("validate")
        wanplan("plan")
        wanplan("plan", "--format", "json", "--out", str(tmp_path / "plan.json"))
        wanplan("plan", "--format", "markdown")
        assert wanplan("apply", "-y", "--log-format", "json").exit_code == 1  # bad-shot fails
        wanplan("apply", "-y")  # fails again, as text
        emu.set_knobs(api_keys=["sk-the-right-one"])  # now the canary is refused: 401
        write_spec(
            root, "more.toml", SPEC.format(provider=provider, family=family).replace("shot", "take")
        )
        refused = wanplan("apply", "-y")
        assert refused.exit_code == 1 and KEY_VARIABLES[provider] in refused.output
        wanplan("cost")
        wanplan("cost", "--format", "json")
        wanplan("show")
        wanplan("show", "ok-shot", "--format", "json")
        wanplan("graph")
        wanplan("state", "list")
        assert wanplan("report").exit_code == 0
        base = tmp_path / "base.json"
        base.write_text(wanplan("plan", "--format", "json").stdout)
        wanplan("plan", "--compare-to", str(base), "--format", "markdown")
        assert wanplan("output", "ok-shot").exit_code == 0
        wanplan("models", "--format", "json")
        assert wanplan("refresh").exit_code == 0
        assert wanplan("gc", "--dry-run").exit_code == 0
        assert wanplan("state", "mv", "ok-shot", "fine-shot").exit_code == 0
        assert wanplan("state", "rm", "fine-shot").exit_code == 0
        wanplan("apply", str(tmp_path / "plan.json"))  # stale by now: refused
        wanplan("import", "ok-take", "--task-id", "not-a-real-task")
        logged = [r.as_dict() for r in emu.log]

        # A crash in the middle of an apply, with the key loaded: the crash log has no key.
        emu.set_knobs(api_keys=None)

        def explode_after_the_keys(*args: object, **kwargs: object) -> None:
            raise RuntimeError("an unforeseen failure in the middle of an apply")

        write_spec(
            root, "last.toml", SPEC.format(provider=provider, family=family).replace("shot", "last")
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("wanplan.apply.engine.run_apply", explode_after_the_keys)
            crashed_apply = run(root, "apply", "-y")
        outputs.append(crashed_apply)
        assert crashed_apply.exit_code == 3

    # A crash (exit 3) writes a crash log with the traceback: no key in it either.
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("an unforeseen failure")

    monkeypatch.setattr("wanplan.plan.planner.make_plan", explode)
    crashed = run(root, "plan")
    outputs.append(crashed)
    assert crashed.exit_code == 3
    assert (root / ".wanplan" / "crash.log").is_file()

    assert any(p.suffix == ".gif" for p in (root / "outputs").iterdir())  # it did run
    for result in outputs:
        assert CANARY not in result.output
    for path in [*every_file(tmp_path)]:
        assert CANARY.encode() not in path.read_bytes(), path
    # The emulator's own log redacts Authorization: the key is not even kept in memory there.
    assert CANARY not in repr(logged)
