"""A project's own prices (PRODUCT §5): `prices.toml` overrides the catalog's row, fills in a
price the catalog does not know, shows in `wanplan models`, and is refused with one line when
it is wrong."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import Run, write_spec

SHOT = """
[assets.teaser]
provider = "{provider}"
mode = "t2v"
model = "{model}"
resolution = "720p"
duration = 5
prompt = "A lighthouse at dusk."
seed = 1
"""


def team_project(tmp_path: Path, model: str = "wan-2.6", provider: str = "dashscope") -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "wanplan.toml").write_text('[project]\ndefault_provider = "dashscope"\n')
    write_spec(root, "shots.toml", SHOT.format(model=model, provider=provider))
    return root


def estimate(run: Run, root: Path) -> str | None:
    result = run(root, "plan", "--format", "json")
    assert result.exit_code == 0, result.output
    value: str | None = json.loads(result.stdout)["summary"]["estimated_cost"]
    return value


def test_a_team_price_replaces_the_catalogs(run: Run, tmp_path: Path) -> None:
    root = team_project(tmp_path)
    assert estimate(run, root) == "0.50"  # the catalog: $0.10 a second, 5 s
    (root / "prices.toml").write_text(
        '[[prices]]\nprovider = "dashscope"\nmodel_id = "wan2.6-t2v"\nmode = "t2v"\n'
        'resolution = "720p"\nunit = "second"\nprice = 0.08\nas_of = 2026-12-01\n'
        'source = "our contract, 20% off"\n'
    )
    assert estimate(run, root) == "0.40"
    shown = run(root, "models", "--provider", "dashscope", "--mode", "t2v", "--format", "json")
    rows = json.loads(shown.stdout)["models"]
    (price,) = [
        p
        for row in rows
        if row["model_id"] == "wan2.6-t2v"
        for p in row["prices"]
        if p["resolution"] == "720p"
    ]
    assert price == price | {"price": "0.08", "origin": "prices.toml"}
    assert price["source"] == "our contract, 20% off"
    others = [p for row in rows for p in row["prices"] if p is not price and p["origin"]]
    assert {p["origin"] for p in others} == {"catalog"}
    text = run(root, "models", "--provider", "dashscope", "--mode", "t2v").stdout
    assert "720p: $0.08/s (prices.toml: our contract, 20% off, 2026-12-01)" in text


def test_a_team_price_makes_an_unknown_price_known(run: Run, tmp_path: Path) -> None:
    root = team_project(tmp_path, model="wan-2.7", provider="apixo")  # the catalog has no price
    plan = json.loads(run(root, "plan", "--format", "json").stdout)["summary"]
    assert plan["unknown_cost"] == 1  # unknown, never $0
    for shown in (run(root, "plan").stdout, run(root, "plan", "--format", "markdown").stdout):
        assert "Estimated cost: unknown (1 of unknown price)" in shown
        assert "$0.00 +" not in shown and "$0.00)" not in shown
    (root / "prices.toml").write_text(
        '[[prices]]\nprovider = "apixo"\nmodel_id = "wan-2-7-video"\nmode = "t2v"\n'
        'resolution = "720p"\nunit = "second"\nprice = "0.10"\nas_of = 2026-12-01\n'
    )
    plan = json.loads(run(root, "plan", "--format", "json").stdout)["summary"]
    assert plan["unknown_cost"] == 0 and plan["estimated_cost"] == "0.50"


def test_a_wrong_prices_file_is_one_line_naming_the_file_and_line(run: Run, tmp_path: Path) -> None:
    root = team_project(tmp_path)
    (root / "prices.toml").write_text(
        '[[prices]]\nprovider = "dashscope"\nmodel_id = "wan9-t2v"\nmode = "t2v"\n'
        'resolution = "720p"\nunit = "second"\nprice = 0.08\nas_of = 2026-12-01\n'
    )
    result = run(root, "plan")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: prices.toml:"), result.stderr
    assert "no t2v model 'wan9-t2v'" in errors[0] and "prices.toml:3" in errors[0]

    (root / "prices.toml").write_text(
        '[[prices]]\nprovider = "dashscope"\nmodel_id = "wan2.6-t2v"\nmode = "t2v"\n'
        'resolution = "720p"\nunit = "minute"\nprice = 0.08\nas_of = 2026-12-01\n'
    )
    result = run(root, "validate")
    assert result.exit_code == 1 and "prices.toml:6" in result.stderr, result.stderr
    assert "prices.0.unit" in result.stderr


def test_a_prices_file_linked_from_outside_is_refused(run: Run, tmp_path: Path) -> None:
    root = team_project(tmp_path)
    outside = tmp_path / "elsewhere.toml"
    outside.write_text("[[prices]]\n")
    os.symlink(outside, root / "prices.toml")
    result = run(root, "plan")
    assert result.exit_code == 1 and "prices.toml" in result.stderr
    assert "Traceback" not in result.output


def test_the_cost_gate_names_changes_of_unknown_price_and_the_ways_through(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = team_project(tmp_path, model="wan-2.7", provider="apixo")  # no catalog price
    gated = run(root, "plan", "--fail-on-cost-increase", "5")
    assert gated.exit_code == 4
    message = gated.stderr.strip()
    assert "1 change(s) of unknown price (teaser)" in message, message
    assert "prices.toml" in message and "--allow-unknown-cost" in message
    assert "WANPLAN_ALLOW_UNKNOWN_COST=true" in message

    monkeypatch.setenv("WANPLAN_ALLOW_UNKNOWN_COST", "true")  # as the CI files expose it
    assert run(root, "plan", "--fail-on-cost-increase", "5").exit_code == 0
    monkeypatch.setenv("WANPLAN_ALLOW_UNKNOWN_COST", "false")
    assert run(root, "plan", "--fail-on-cost-increase", "5").exit_code == 4

    (root / "prices.toml").write_text(
        '[[prices]]\nprovider = "apixo"\nmodel_id = "wan-2-7-video"\nmode = "t2v"\n'
        'resolution = "720p"\nunit = "second"\nprice = "0.10"\nas_of = 2026-12-01\n'
    )
    assert run(root, "plan", "--fail-on-cost-increase", "5").exit_code == 0  # priced: $0.50
    over = run(root, "plan", "--fail-on-cost-increase", "0.25")
    assert over.exit_code == 4 and "an estimated $0.50, over" in over.stderr


def test_the_ci_files_expose_letting_unknown_prices_through(tmp_path: Path, run: Run) -> None:
    for backend in ("sqlite", "postgres"):
        root = tmp_path / backend
        root.mkdir()
        assert run(root, "init", "--ci", "all", "--backend", backend).exit_code == 0
        for name in (".github/workflows/wanplan.yml", ".gitlab-ci.wanplan.yml"):
            text = (root / name).read_text()
            assert 'WANPLAN_ALLOW_UNKNOWN_COST: "false"' in text, (backend, name)
            assert "price unknown models in prices.toml" in text
