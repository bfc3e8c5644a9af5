"""Apply under faults, against the emulator on loopback (issue 4): rate limits and 5xx, failed and
expired tasks, bad keys, truncated and slow downloads, a concurrency cap. Each asset either
completes with the right bytes or fails with the provider's reason; nothing is paid twice."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apply.test_interrupt import start_apply
from tests.conftest import Run, emulator_for_wanplan, write_spec
from wanplan import workspace
from wanplan.apply.backoff import Backoff
from wanplan.emulator import Emulator, Knobs
from wanplan.state.sqlite import SqliteState

KEY = "sk-fault-test"


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with emulator_for_wanplan(monkeypatch, Knobs(latency=0.1, time_scale=0.01), KEY) as emulator:
        yield emulator


def spec(provider: str, count: int, family: str = "wan-2.5", extra: str = "") -> str:
    return "".join(
        f'[assets.clip-{i}]\nprovider = "{provider}"\nmode = "t2v"\nmodel = "{family}"\n'
        f'prompt = "Shot number {i}."\nseed = {i}\n{extra}'
        for i in range(count)
    )


def submits(emulator: Emulator, provider: str) -> list[str]:
    """The prompts of every submit that reached the emulator (faults included)."""
    found = []
    for request in emulator.requests(provider=provider, method="POST"):
        body = request.json if isinstance(request.json, dict) else {}
        prompt = body.get("prompt") or (body.get("input") or {}).get("prompt")
        if prompt:
            found.append(prompt)
    return found


def accepted(emulator: Emulator, provider: str) -> list[str]:
    return [
        (r.json.get("prompt") or (r.json.get("input") or {}).get("prompt"))
        for r in emulator.requests(provider=provider, method="POST")
        if r.status == 200 and isinstance(r.json, dict) and not r.path.endswith("/model/price")
    ]


def task_statuses(project: Path) -> list[str]:
    reader = SqliteState.open_reader(project / "state" / "wanplan.db")
    statuses = [row["status"] for row in reader.db.query("select status from tasks order by id")]
    reader.close()
    return statuses


def test_429_with_retry_after_on_polls_and_submits(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    write_spec(empty_project, "a.toml", spec("wavespeed", 3))
    emulator.set_knobs(rate_limit_burst=4, retry_after=1)
    started = time.monotonic()
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured
    faults = [r for r in emulator.log if r.fault == "429"]
    assert len(faults) == 4
    # A refused submit created no task: retried, and each asset was accepted exactly once.
    assert sorted(accepted(emulator, "wavespeed")) == [f"Shot number {i}." for i in range(3)]


def test_a_submit_answered_503_is_refused_and_retried(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    # 503: the service says it did not process the request; no task exists to pay twice.
    write_spec(empty_project, "a.toml", spec("dashscope", 1))
    emulator.set_knobs(server_error_burst=1, server_error_status=503, fault_methods=["POST"])
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert submits(emulator, "dashscope") == ["Shot number 0.", "Shot number 0."]
    assert task_statuses(empty_project) == ["collected"]
    assert len(accepted(emulator, "dashscope")) == 1


def test_a_submit_answered_500_is_reconciled_before_it_is_sent_again(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    # A 500 may hide a task the provider made: its task list is read for the submit's window
    # (here it shows none), and only then is the asset submitted again.
    write_spec(empty_project, "a.toml", spec("dashscope", 1))
    emulator.set_knobs(server_error_burst=1, server_error_status=500, fault_methods=["POST"])
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 0, result.output
    listed = emulator.requests(provider="dashscope", method="GET", path="/api/v1/tasks")
    assert listed, "the task list was not read before submitting again"
    assert submits(emulator, "dashscope") == ["Shot number 0.", "Shot number 0."]
    assert task_statuses(empty_project) == ["not_created", "collected"]
    assert len(accepted(emulator, "dashscope")) == 1


def test_5xx_on_polls_is_retried(run: Run, empty_project: Path, emulator: Emulator) -> None:
    write_spec(empty_project, "a.toml", spec("apixo", 2))
    emulator.set_knobs(server_error_burst=3, server_error_status=502, fault_methods=["GET"])
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert len([r for r in emulator.log if r.fault == "5xx"]) == 3
    assert len(accepted(emulator, "apixo")) == 2


@pytest.mark.parametrize(
    ("provider", "code"),
    [
        ("wavespeed", "flagged"),
        ("dashscope", "DataInspectionFailed"),
        ("apixo", "CONTENT_VIOLATION"),
        ("wanapi", "content_policy_violation"),
    ],
)
def test_a_failed_task_fails_its_asset_with_the_provider_reason(
    provider: str, code: str, run: Run, empty_project: Path, emulator: Emulator
) -> None:
    family = "wan-2.2" if provider == "wanapi" else "wan-2.5"
    text = spec(provider, 2, family).replace("Shot number 1.", "Shot number 1. [fail]")
    write_spec(empty_project, "a.toml", text)
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 1
    assert "1 created" in result.output and "1 failed" in result.output
    failure = next(line for line in result.output.splitlines() if "failed clip-1" in line)
    assert code.lower() in failure.lower()


def test_a_bad_request_fails_the_asset_with_the_message(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    write_spec(empty_project, "a.toml", spec("wavespeed", 1, extra='params = { prompt = "" }\n'))
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 1
    assert "failed clip-0: wavespeed: HTTP 400" in result.output


def test_a_bad_key_stops_every_further_submit_and_names_the_variable(
    run: Run, empty_project: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.set_knobs(api_keys=["the-right-key"])
    write_spec(empty_project, "a.toml", spec("wavespeed", 6))
    # The balance is read first: a refused key is known before anything is submitted.
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 1 and "check the key in WAVESPEED_API_KEY" in result.output
    assert submits(emulator, "wavespeed") == []
    # Without the balance check, the first submits' answers stop the rest.
    result = run(empty_project, "apply", "-y", "--concurrency", "2", "--skip-balance-check")
    assert result.exit_code == 1
    assert "check the key in WAVESPEED_API_KEY" in result.output
    assert len(submits(emulator, "wavespeed")) <= 2  # the first answers stopped the rest
    assert "not submitted" in result.output
    assert KEY not in result.output


@pytest.mark.parametrize("provider", ["dashscope", "wavespeed"])
def test_an_expired_task_needs_regeneration(
    provider: str, run: Run, empty_project: Path, emulator: Emulator
) -> None:
    write_spec(empty_project, "a.toml", spec(provider, 1, "wan-2.6"))  # a known price
    emulator.set_knobs(latency=30)
    # An apply submits, then is stopped before collecting (a CI job cancelled)...

    process = start_apply(empty_project, latency="0")
    assert process.stdout is not None
    for line in process.stdout:
        if "submitted" in line:
            break
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    # ...and the provider forgets the task (DashScope answers UNKNOWN, others 404).
    emulator.reset()
    assert "resume" in run(empty_project, "plan").output
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 1
    assert "no longer knows task" in result.output and "plan again" in result.output
    document = json.loads(run(empty_project, "plan", "--format", "json").output)
    (change,) = document["changes"]
    assert change["action"] == "create" and change["estimated_cost"] is not None


def test_truncated_downloads_are_retried_and_then_resumed_without_paying_again(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    write_spec(empty_project, "a.toml", spec("apixo", 1))
    emulator.set_knobs(truncate_downloads=True)
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 1
    assert "truncated" in result.output
    # Paid, not collected: the closing line says so, rather than "Spent: $0.00" alone.
    assert "Spent: $0.00 (plus $0.40 committed by 1 task made but not collected: the next " in (
        result.output
    )
    downloads = emulator.downloads
    assert len(downloads) > 1 and not any(d.complete for d in downloads)  # retried
    assert not (empty_project / "outputs").exists()
    assert not list((empty_project / ".wanplan" / "tmp").iterdir())  # no partial file kept

    emulator.set_knobs(truncate_downloads=False)
    assert "resume" in run(empty_project, "plan").output
    again = run(empty_project, "apply", "-y")
    assert again.exit_code == 0, again.output
    assert len(accepted(emulator, "apixo")) == 1  # collected, not submitted again


def test_slow_downloads_complete(run: Run, empty_project: Path, emulator: Emulator) -> None:
    write_spec(empty_project, "a.toml", spec("wanapi", 2, "wan-2.2"))
    emulator.set_knobs(download_delay=0.02, download_chunk_size=2048)
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert all(d.complete for d in emulator.downloads)


def test_a_provider_concurrency_cap_is_waited_out(
    run: Run, empty_project: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DashScope refuses submits over its cap with 429 Throttling.AllocationQuota: no task was
    # made, so wanplan waits (its own backoff, as Retry-After is 0) and submits again. The
    # backoff is injected at a tenth of the real one: long enough for a 0.3 s task to end.
    monkeypatch.setattr(workspace, "DEFAULT_BACKOFF", Backoff(base=0.1))
    emulator.set_knobs(concurrency_cap=2, retry_after=0, latency=0.3)
    write_spec(empty_project, "a.toml", spec("dashscope", 5))
    result = run(empty_project, "apply", "-y", "--concurrency", "4")
    assert result.exit_code == 0, result.output
    assert len(accepted(emulator, "dashscope")) == 5
    assert any(r.status == 429 for r in emulator.requests(provider="dashscope", method="POST"))


def test_an_expired_result_url_is_refreshed_then_the_task_resumed(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    write_spec(empty_project, "a.toml", spec("wavespeed", 1))
    emulator.set_knobs(url_ttl=0)  # every result URL has expired by the time it is fetched
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 1 and "HTTP 403" in result.output
    fetches = emulator.requests(provider="files")
    # The expired URL, then the fresh one the task was polled again for (expired too here).
    assert [r.status for r in fetches] == [403, 403]
    assert fetches[0].query != fetches[1].query
    emulator.set_knobs(url_ttl=None)
    again = run(empty_project, "apply", "-y")
    assert again.exit_code == 0, again.output
    assert "1 resumed" in again.output and len(accepted(emulator, "wavespeed")) == 1


def test_an_input_upload_failing_is_retried_and_never_taken_for_a_paid_submit(
    run: Run, empty_project: Path, emulator: Emulator
) -> None:
    # WaveSpeed's upload ticket is asked for inside the submit, before the submit request:
    # when it fails, no task can exist, so it is retried and never reported as "may be paid".
    from PIL import Image

    (empty_project / "inputs").mkdir(exist_ok=True)
    Image.new("RGB", (64, 36), "teal").save(empty_project / "inputs" / "still.png")
    write_spec(
        empty_project,
        "a.toml",
        '[assets.turn]\nprovider = "wavespeed"\nmode = "i2v"\nmodel = "wan-2.6"\n'
        'image = "inputs/still.png"\nprompt = "It turns."\nseed = 1\n',
    )
    emulator.set_knobs(server_error_burst=2, server_error_status=503, fault_methods=["POST"])
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 0, result.output
    assert task_statuses(empty_project) == ["collected"]
    assert [p for p in accepted(emulator, "wavespeed") if p] == ["It turns."]
    faults = [r for r in emulator.log if r.fault == "5xx"]
    assert len(faults) == 2 and all("upload" in r.path for r in faults)
