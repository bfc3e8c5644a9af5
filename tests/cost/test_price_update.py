"""`wanplan prices update`: prices.toml from WaveSpeed's free price quote for the account (its
discounted price where given), fitted to the catalog's price rows; other rows kept."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import Run, emulator_for_wanplan, write_spec
from tests.providers.test_adapters import FAST_POLLING
from wanplan.cost.price_update import fit
from wanplan.emulator import Emulator, Knobs

KEY = "sk-test-prices-key"
WAN_26 = "alibaba/wan-2.6/text-to-video"


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with emulator_for_wanplan(monkeypatch, Knobs(price_discount_rate=Decimal("0.2")), KEY) as e:
        yield e


@pytest.fixture
def hosted(empty_project: Path) -> Path:
    (empty_project / "wanplan.toml").write_text(FAST_POLLING)
    return empty_project


def quotes(emulator: Emulator) -> list[dict[str, object]]:
    return [r.json for r in emulator.requests(provider="wavespeed", path="/api/v3/model/price")]


def test_quoted_prices_are_written_and_change_the_estimate(
    run: Run, hosted: Path, emulator: Emulator
) -> None:
    (hosted / "prices.toml").write_text(
        '[[prices]]\nprovider = "dashscope"\nmodel_id = "wan2.6-t2v"\nmode = "t2v"\n'
        'resolution = "720p"\nunit = "second"\nprice = "0.07"\nas_of = 2026-01-01\n'
    )
    write_spec(
        hosted,
        "a.toml",
        '[assets.clip]\nprovider = "wavespeed"\nmode = "t2v"\nmodel = "wan-2.6"\n'
        'prompt = "x"\nresolution = "720p"\nduration = 10\nseed = 1\n',
    )
    before = json.loads(run(hosted, "plan", "--format", "json").output)
    assert before["changes"][0]["estimated_cost"] == "1.00"  # the catalog's $0.10/s

    result = run(hosted, "prices", "update", "--model", WAN_26)
    assert result.exit_code == 0, result.output
    # Every resolution and duration the catalog lists was quoted, with the key; nothing else.
    asked = quotes(emulator)
    assert {q["model_id"] for q in asked} == {WAN_26}
    assert len(asked) == 2 * 3  # 720p and 1080p; 5, 10 and 15 s
    assert all(r.headers["authorization"] == "Bearer [REDACTED]" for r in emulator.requests(
        provider="wavespeed", path="/api/v3/model/price"))  # fmt: skip
    assert "Wrote 2 prices to prices.toml (2 changed)" in result.output
    assert f"{WAN_26} t2v 720p: $0.08/s  (was $0.10/s)" in result.output

    rows = tomllib.loads((hosted / "prices.toml").read_text())["prices"]
    assert rows[0]["provider"] == "dashscope"  # a row it did not quote is kept
    quoted = {r["resolution"]: r for r in rows[1:]}
    # The emulator lists $0.10/$0.15 per second; the account's 20% discount is what is paid.
    assert (quoted["720p"]["unit"], quoted["720p"]["price"]) == ("second", "0.08")
    assert quoted["1080p"]["price"] == "0.12"
    assert "price quote" in quoted["720p"]["source"]

    after = json.loads(run(hosted, "plan", "--format", "json").output)
    assert after["changes"][0]["estimated_cost"] == "0.80"
    models = json.loads(run(hosted, "models", "--provider", "wavespeed", "--format", "json").output)
    (entry,) = [m for m in models["models"] if m["model_id"] == WAN_26]
    assert {p["origin"] for p in entry["prices"]} == {"prices.toml"}


def test_a_dry_run_writes_nothing_and_json_says_what_changed(
    run: Run, hosted: Path, emulator: Emulator
) -> None:
    result = run(hosted, "prices", "update", "--model", WAN_26, "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["written"] is False and not (hosted / "prices.toml").exists()
    row = next(p for p in document["prices"] if p["resolution"] == "1080p")
    assert (row["price"], row["before"]["price"], row["changed"]) == ("0.12", "0.15", True)


def test_without_the_key_nothing_is_asked(
    run: Run, hosted: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WAVESPEED_API_KEY")
    result = run(hosted, "prices", "update")
    assert result.exit_code != 0
    assert "WAVESPEED_API_KEY" in result.output and "Traceback" not in result.output
    assert quotes(emulator) == [] and not (hosted / "prices.toml").exists()


def test_a_refused_key_stops_with_its_variable(
    run: Run, hosted: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.set_knobs(api_keys=[KEY])
    monkeypatch.setenv("WAVESPEED_API_KEY", "sk-wrong")
    result = run(hosted, "prices", "update", "--model", WAN_26)
    assert result.exit_code != 0 and "WAVESPEED_API_KEY" in result.output
    assert "sk-wrong" not in result.output and not (hosted / "prices.toml").exists()


def test_a_provider_without_a_quote_and_an_unknown_model_are_named(
    run: Run, hosted: Path, emulator: Emulator
) -> None:
    result = run(hosted, "prices", "update", "--provider", "dashscope")
    assert result.exit_code == 1 and "dashscope has no price quote" in result.output
    result = run(hosted, "prices", "update", "--model", "alibaba/wan-9/none")
    assert result.exit_code == 1 and "no model 'alibaba/wan-9/none'" in result.output
    assert quotes(emulator) == []


def test_a_failing_quote_leaves_its_prices_as_they_were(
    run: Run, hosted: Path, emulator: Emulator
) -> None:
    emulator.set_knobs(price_quote_status=503)
    result = run(hosted, "prices", "update", "--model", WAN_26)
    assert result.exit_code == 0, result.output
    assert "not quoted" in result.output and "unchanged" in result.output
    assert not (hosted / "prices.toml").exists()


def d(value: str) -> Decimal:
    return Decimal(value)


def test_quotes_fit_a_price_per_second_with_its_minimum_or_nothing() -> None:
    assert fit({5: d("0.50"), 10: d("1.00")}) == ("second", d("0.1"), 0)
    # Shorter clips billed as 5 s: the minimum the quotes show.
    assert fit({2: d("0.50"), 3: d("0.50"), 5: d("0.50"), 8: d("0.80")}) == (
        "second",
        d("0.1"),
        5,
    )
    assert fit({None: d("0.03")}) == ("item", d("0.03"), 0)  # an image
    assert fit({5: d("0.20")}) == ("item", d("0.20"), 0)  # one duration: a price per clip
    # WaveSpeed's Wan 2.1: $0.20 for 5 s, $0.30 for 10 s: no one row gives both.
    assert fit({5: d("0.20"), 10: d("0.30")}) is None


def test_prices_that_depend_on_input_videos_are_not_quoted(
    run: Run, hosted: Path, emulator: Emulator
) -> None:
    r2v, edit = "alibaba/wan-2.7/reference-to-video", "alibaba/wan-2.7/video-edit"
    result = run(hosted, "prices", "update", "--model", r2v, "--model", edit)
    assert result.exit_code == 0, result.output
    assert f"{r2v} r2v 720p: not quoted (its price depends on the input video" in result.output
    assert quotes(emulator) == [] and not (hosted / "prices.toml").exists()


def test_a_zero_quote_or_an_unreachable_quote_is_no_price(
    run: Run, hosted: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.set_knobs(price_discount_rate=Decimal(1))  # a discounted price of $0
    result = run(hosted, "prices", "update", "--model", WAN_26)
    assert result.exit_code == 0 and "answered $0.00; not trusted" in result.output
    assert not (hosted / "prices.toml").exists()
    monkeypatch.setenv("WANPLAN_WAVESPEED_BASE_URL", "http://127.0.0.1:9")  # nothing listens
    result = run(hosted, "prices", "update", "--model", WAN_26)
    assert result.exit_code == 0, result.output
    assert "ConnectError: the price quote could not be reached" in result.output
    assert "Traceback" not in result.output and not (hosted / "prices.toml").exists()


def test_a_busy_quote_is_asked_again(run: Run, hosted: Path, emulator: Emulator) -> None:
    emulator.set_knobs(price_quote_status=503)
    run(hosted, "prices", "update", "--model", WAN_26, "--dry-run")
    assert len(quotes(emulator)) == 6 * 3  # each quote three times, then named as not quoted


def test_large_rates_are_written_as_plain_decimals() -> None:
    assert fit({5: d("50.00"), 10: d("100.00")}) == ("second", d("10"), 0)
    assert str(fit({5: d("50.00"), 10: d("100.00")})[1]) == "10"  # type: ignore[index]
