"""The spend ledger's figures (the providers' own where they give one) and `wanplan cost`."""

from __future__ import annotations

import asyncio
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Run, write_spec
from tests.providers.test_adapters import FAST_POLLING
from tests.providers.test_adapters import emulator as emulator_fixture
from wanplan.catalog import load_catalog
from wanplan.config import ProviderSettings
from wanplan.cost.spend import task_spend
from wanplan.emulator import Emulator
from wanplan.money import format_usd
from wanplan.providers import wavespeed
from wanplan.providers.base import (
    GenerationRequest,
    ProviderContext,
    TaskState,
    TaskStatus,
)
from wanplan.providers.dashscope import DashScopeProvider
from wanplan.spec.resolved import ResolvedAsset
from wanplan.state import sqlite as sqlite_state
from wanplan.state.sqlite import SqliteState

CLIP = """[assets.{name}]
provider = "{provider}"
mode = "t2v"
model = "{family}"
prompt = "A kite over a windy beach."
resolution = "720p"
duration = {duration}
seed = 1
"""

CATALOG = load_catalog()


def state_path(project: Path) -> Path:
    return project / "state" / "wanplan.db"


def ledger(project: Path) -> list[dict[str, Any]]:
    reader = SqliteState.open_reader(state_path(project))
    try:
        return list(reader.ledger())
    finally:
        reader.close()


def spend_on(
    monkeypatch: pytest.MonkeyPatch,
    project: Path,
    day: str,
    address: str,
    amount: str | None,
    *,
    source: str = "estimate",
    provider: str = "sim",
    profile: str = "default",
) -> None:
    """A ledger row recorded on `day` (UTC), through the state writer."""
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_state, "now_iso", lambda: f"{day}T12:00:00.000+00:00")
        state = SqliteState.open_writer(state_path(project))
        try:
            key = f"key-{address}-{day}"
            cost = Decimal(amount) if amount is not None else None
            ref = state.record_intent(
                provider=provider,
                model_id="sim/wan-2.5/t2v",
                content_key=key,
                address=address,
                profile=profile,
                estimated_cost=cost,
            )
            state.record_spend(
                task_ref=ref,
                provider=provider,
                address=address,
                profile=profile,
                content_key=key,
                amount=cost,
                source=source,
            )
        finally:
            state.close()


def cost_json(run: Run, project: Path, *args: str) -> dict[str, Any]:
    result = run(project, "cost", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.output)
    return document


# ---- the figures the providers give ------------------------------------------------------

emulator = emulator_fixture  # the emulator on loopback, every provider's variables set


@pytest.fixture
def hosted(empty_project: Path) -> Path:
    (empty_project / "wanplan.toml").write_text(FAST_POLLING)
    return empty_project


def apply_one_clip(run: Run, project: Path, provider: str, family: str) -> dict[str, Any]:
    """Apply one 10 s clip and return its ledger row."""
    write_spec(
        project, "a.toml", CLIP.format(name="clip", provider=provider, family=family, duration=10)
    )
    result = run(project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    (row,) = ledger(project)
    return row


def test_dashscope_usage_at_the_catalog_unit_price_is_the_reported_spend(
    run: Run, hosted: Path, emulator: Emulator
) -> None:
    write_spec(
        hosted,
        "a.toml",
        CLIP.format(name="priced", provider="dashscope", family="wan-2.6", duration=4)
        # The catalog has no APIXO price for Wan 2.7: nothing can make a figure.
        + CLIP.format(name="unpriced", provider="apixo", family="wan-2.7", duration=5),
    )
    result = run(hosted, "apply", "-y")
    assert result.exit_code == 0, result.output
    rows = {row["address"]: row for row in ledger(hosted)}
    assert (rows["priced"]["amount"], rows["priced"]["source"]) == ("0.40", "reported")
    assert (rows["unpriced"]["amount"], rows["unpriced"]["source"]) == (None, "unknown")


def test_dashscope_reports_the_billed_seconds_of_its_usage() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        output = {"task_id": "t1", "task_status": "SUCCEEDED", "video_url": "https://x/v.mp4"}
        return httpx.Response(200, json={"output": output, "usage": {"video_duration": 7}})

    async def poll() -> TaskStatus:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            context = ProviderContext(ProviderSettings(), client, "https://ds", "k", None)
            return await DashScopeProvider(context).poll("t1", "wan2.6-t2v")

    status = asyncio.run(poll())
    assert status.billed_seconds == 7.0
    clip = asset("dashscope", "wan2.6-t2v", "1080p")
    # 7 s at the catalog's $0.15/s, whatever the plan estimated for the asked duration.
    spend = task_spend(clip, status, quoted=None, estimate=Decimal("0.75"), catalog=CATALOG)
    assert (spend.amount, spend.source) == (Decimal("1.05"), "reported")


def asset(provider: str, model_id: str, resolution: str) -> ResolvedAsset:
    return ResolvedAsset(
        address="clip",
        file="specs/a.toml",
        provider=provider,
        family=None,
        model_id=model_id,
        mode="t2v",
        params={"resolution": resolution, "duration": 5},
        inputs=(),
        output=None,
        material={},
        content_key="k",
    )


def test_which_figure_the_ledger_keeps() -> None:
    done = TaskStatus(TaskState.SUCCEEDED, result_urls=("u",))
    clip = asset("dashscope", "wan2.6-t2v", "720p")
    said = TaskStatus(TaskState.SUCCEEDED, reported_cost=Decimal("0.33"), billed_seconds=9)
    assert task_spend(clip, said, Decimal("1"), Decimal("2"), CATALOG).source == "reported"
    assert task_spend(clip, done, Decimal("0.42"), Decimal("0.50"), CATALOG).amount == Decimal(
        "0.42"
    )
    assert task_spend(clip, done, None, Decimal("0.50"), CATALOG).source == "estimate"
    assert task_spend(clip, done, None, None, CATALOG).amount is None
    # Billed seconds without a catalog price leave the quote or estimate, never $0.
    unpriced = asset("apixo", "wan-2-7-video", "720p")
    billed = TaskStatus(TaskState.SUCCEEDED, billed_seconds=5)
    assert task_spend(unpriced, billed, None, None, CATALOG).source == "unknown"


def test_the_wavespeed_quote_is_the_spend(run: Run, hosted: Path, emulator: Emulator) -> None:
    # The quote is the provider's own figure: it wins over the catalog's estimate.
    row = apply_one_clip(run, hosted, "wavespeed", "wan-2.5")
    # The emulator's simulated quote: $0.10/s at 720p.
    assert (row["amount"], row["source"]) == ("1.00", "quote")
    (quote,) = emulator.requests(provider="wavespeed", path="/api/v3/model/price")
    (submit,) = emulator.requests(
        provider="wavespeed", path="/api/v3/alibaba/wan-2.5/text-to-video"
    )
    assert quote.json == {"model_id": "alibaba/wan-2.5/text-to-video", "inputs": submit.json}
    assert quote.headers["authorization"] == "Bearer [REDACTED]"


def test_a_wavespeed_quote_of_nothing_is_not_recorded_as_spend(
    run: Run, hosted: Path, emulator: Emulator
) -> None:
    emulator.set_knobs(price_discount_rate=Decimal(1))  # a discounted price of $0
    row = apply_one_clip(run, hosted, "wavespeed", "wan-2.5")
    assert row["source"] == "estimate" and row["amount"] != "0.00"


def test_a_resumed_task_is_recorded_at_its_quote(
    run: Run, hosted: Path, emulator: Emulator
) -> None:
    # The first apply is paid (and quoted) but cannot download; the next one resumes the task
    # and records the quote kept in the journal, not the catalog's estimate.
    clip = CLIP.format(name="clip", provider="wavespeed", family="wan-2.6", duration=10)
    write_spec(hosted, "a.toml", clip)
    emulator.set_knobs(truncate_downloads=True)
    assert run(hosted, "apply", "-y").exit_code == 1
    assert ledger(hosted) == []
    emulator.set_knobs(truncate_downloads=False)
    again = run(hosted, "apply", "-y")
    assert again.exit_code == 0 and "1 resumed" in again.output, again.output
    (row,) = ledger(hosted)
    assert (row["amount"], row["source"]) == ("1.00", "quote")
    assert len(emulator.requests(provider="wavespeed", path="/api/v3/model/price")) == 1


def test_a_failing_quote_leaves_the_estimate(run: Run, hosted: Path, emulator: Emulator) -> None:
    emulator.set_knobs(price_quote_status=500)
    row = apply_one_clip(run, hosted, "wavespeed", "wan-2.6")
    assert (row["amount"], row["source"]) == ("1.00", "estimate")  # the catalog's $0.10/s


def test_the_submit_answers_before_any_quote_is_asked() -> None:
    # The task id is committed before anything else is done with the answer: the provider's
    # submit returns without asking the quote, which the engine asks after the commit.
    asked: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path.endswith("/model/price"):
            return httpx.Response(200, json={"code": 200, "data": {"price": 0.5}})
        return httpx.Response(200, json={"code": 200, "data": {"id": "task-1"}})

    async def submit() -> tuple[str, list[str], Any]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            context = ProviderContext(ProviderSettings(), client, "https://ws", "k", None)
            request = GenerationRequest(
                "clip", "k", "alibaba/wan-2.5/text-to-video", "t2v", {"resolution": "720p"}
            )
            submitted = await wavespeed.WaveSpeedProvider(context).submit(request)
            before_quote = list(asked)
            assert submitted.quote is not None
            return submitted.task_id, before_quote, await submitted.quote()

    task_id, before_quote, quoted = asyncio.run(submit())
    assert task_id == "task-1"
    assert before_quote == ["/api/v3/alibaba/wan-2.5/text-to-video"]
    assert quoted == Decimal("0.5")


# ---- wanplan cost ----------------------------------------------------------------------------


def test_cost_after_an_apply_sums_the_ledger(run: Run, project: Path) -> None:
    assert run(project, "apply", "-y").exit_code == 0
    rows = ledger(project)
    assert rows and {row["source"] for row in rows} == {"estimate"}
    spent = sum((Decimal(row["amount"]) for row in rows), Decimal(0))

    document = cost_json(run, project)
    assert document["total"] == {
        "total": str(spent),
        "reported": "0.00",
        "quoted": "0.00",
        "estimated": str(spent),
        "unknown": 0,
        "tasks": len(rows),
    }
    by_asset = {entry["address"]: Decimal(entry["total"]) for entry in document["by_asset"]}
    assert by_asset == {row["address"]: Decimal(row["amount"]) for row in rows}
    (provider,) = document["by_provider"]
    assert (provider["provider"], provider["total"]) == ("sim", str(spent))
    (day,) = document["by_day"]
    assert day["day"] == rows[0]["day"] and day["tasks"] == len(rows)

    text = run(project, "cost").output
    assert "By day" in text and "By provider" in text and "By asset" in text
    total_line = next(line for line in text.splitlines() if line.strip().startswith("Total"))
    assert format_usd(spent) in total_line and f"{len(rows)} tasks" in total_line
    assert f"{format_usd(spent)} estimated" in total_line


def test_cost_groups_by_day_and_keeps_provider_figures_apart(
    run: Run, empty_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spend_on(monkeypatch, empty_project, "2025-06-01", "a", "0.50")
    spend_on(monkeypatch, empty_project, "2025-06-01", "b", "1.25", source="reported")
    spend_on(monkeypatch, empty_project, "2025-06-02", "a", "0.30", source="quote")

    document = cost_json(run, empty_project, "--by", "day")
    assert set(document) >= {"total", "by_day"} and "by_asset" not in document
    first, second = document["by_day"]
    assert (first["day"], first["total"], first["reported"], first["estimated"]) == (
        "2025-06-01",
        "1.75",
        "1.25",
        "0.50",
    )
    assert (second["day"], second["total"], second["quoted"]) == ("2025-06-02", "0.30", "0.30")
    assert document["total"]["total"] == "2.05"

    text = run(empty_project, "cost", "--by", "day").output
    lines = text.splitlines()
    assert any(
        "2025-06-01" in ln and "$1.25 from the provider, $0.50 estimated" in ln for ln in lines
    )
    assert any("2025-06-02" in ln and "$0.30 from the provider" in ln for ln in lines)
    assert "By asset" not in text


def test_unknown_prices_are_counted_not_added(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The catalog deliberately has no price for sim/wan-2.7/t2i.
    write_spec(
        project, "stills.toml", '[assets.still]\nmode = "t2i"\nmodel = "wan-2.7"\nprompt = "x"\n'
    )
    assert run(project, "apply", "-y").exit_code == 0
    rows = ledger(project)
    (still,) = [row for row in rows if row["address"] == "still"]
    assert (still["amount"], still["source"]) == (None, "unknown")
    known = sum((Decimal(r["amount"]) for r in rows if r["amount"] is not None), Decimal(0))

    document = cost_json(run, project)
    assert document["total"]["total"] == str(known)
    assert document["total"]["unknown"] == 1
    (entry,) = [e for e in document["by_asset"] if e["address"] == "still"]
    assert (entry["total"], entry["unknown"], entry["tasks"]) == (None, 1, 1)

    text = run(project, "cost", "--by", "asset").output
    (line,) = [ln for ln in text.splitlines() if ln.strip().startswith("still ")]
    assert "unknown" in line and "1 of unknown price" in line and "$0.00" not in line
    total_line = next(ln for ln in text.splitlines() if ln.strip().startswith("Total"))
    assert format_usd(known) in total_line and "1 of unknown price" in total_line


def test_since_until_and_profile_filter(
    run: Run, empty_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day, amount in (("2025-05-31", "1.00"), ("2025-06-01", "0.20"), ("2025-06-03", "0.04")):
        spend_on(monkeypatch, empty_project, day, "clip", amount)
    spend_on(monkeypatch, empty_project, "2025-06-01", "clip", "3.00", profile="preview")

    days = cost_json(run, empty_project, "--since", "2025-06-01", "--until", "2025-06-02")
    assert [(d["day"], d["total"]) for d in days["by_day"]] == [("2025-06-01", "3.20")]
    assert days["since"] == "2025-06-01" and days["until"] == "2025-06-02"
    later = cost_json(run, empty_project, "--since", "2025-06-02")
    assert later["total"]["total"] == "0.04"
    preview = cost_json(run, empty_project, "--profile", "preview")
    assert preview["by_asset"] == [
        {
            "address": "clip",
            "profile": "preview",
            "total": "3.00",
            "reported": "0.00",
            "quoted": "0.00",
            "estimated": "3.00",
            "unknown": 0,
            "tasks": 1,
        }
    ]
    text = run(empty_project, "cost", "--by", "asset").output
    assert "clip (preview)" in text
    assert run(empty_project, "cost", "--until", "2025-05-01").output == "No spend recorded.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "2025-13-01"), "error: --since '2025-13-01' is not a date; write it as"),
        (("--until", "yesterday"), "error: --until 'yesterday' is not a date; write it as"),
        (("--since", "2025-06-02", "--until", "2025-06-01"), "error: --since 2025-06-02 is after"),
    ],
)
def test_a_bad_date_is_a_one_line_error(
    run: Run, empty_project: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(empty_project, "cost", *args)
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1


def test_cost_reads_the_state_and_never_writes_it(run: Run, project: Path) -> None:
    result = run(project, "cost")
    assert (result.exit_code, result.output) == (0, "No spend recorded.\n")
    assert not state_path(project).exists()
    assert cost_json(run, project)["total"]["tasks"] == 0

    assert run(project, "apply", "-y").exit_code == 0
    before = hashlib.sha256(state_path(project).read_bytes()).hexdigest()
    assert run(project, "cost").exit_code == 0
    assert hashlib.sha256(state_path(project).read_bytes()).hexdigest() == before
