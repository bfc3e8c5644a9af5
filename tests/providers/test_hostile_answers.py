"""Hostile provider answers (issue 7), through the emulator on loopback: bodies that are not
JSON, too large, of the wrong shape, with unknown statuses; result URLs pointing elsewhere;
downloads that redirect, lie about their type or exceed the cap. Each fails only its own asset
with a specific reason, writes nothing outside .wanplan/, outputs/ and state/, and leaves a
state that plans again."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import Run, emulator_for_wanplan, write_spec
from wanplan.apply import submit_window
from wanplan.emulator import Emulator, Knobs
from wanplan.errors import ProviderError
from wanplan.providers import answers
from wanplan.providers.result_urls import refusal

KEY = "sk-hostile-test"
PROVIDERS = ("wavespeed", "dashscope", "apixo", "wanapi")
# Where each protocol keeps the task object, its id, status and result (as wanplan names them).
ENVELOPE = {"wavespeed": "data", "dashscope": "output", "apixo": "data", "wanapi": ""}
TASK_ID = {"wavespeed": "id", "dashscope": "task_id", "apixo": "taskId", "wanapi": "id"}
STATUS = {"wavespeed": "status", "dashscope": "task_status", "apixo": "state", "wanapi": "status"}
WRITABLE = (".wanplan", "outputs", "state")


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    # The emulator stamps its tasks to the millisecond by this process's own clock: the pad
    # for another clock's skew and whole-second stamps (1.25 s on loopback) is injected at
    # 0.3 s, so that each unknown submit's window closes in a fraction of the time.
    monkeypatch.setattr(submit_window, "LOOPBACK_CLOCK_PAD", 0.3)
    with emulator_for_wanplan(monkeypatch, Knobs(latency=0.05, time_scale=0.01), KEY) as emulator:
        yield emulator


@pytest.fixture
def own_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary directory of this test's own, to see that nothing is left in it."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def field(provider: str, name: str) -> str:
    prefix = ENVELOPE[provider]
    return f"{prefix}.{name}" if prefix else name


def two_assets(provider: str) -> str:
    """clip-0 healthy, clip-1 marked for the hostile knobs."""
    family = "wan-2.2" if provider == "wanapi" else "wan-2.5"
    return "".join(
        f'[assets.clip-{i}]\nprovider = "{provider}"\nmode = "t2v"\nmodel = "{family}"\n'
        f'prompt = "Shot number {i}.{" [hostile]" if i else ""}"\nseed = {i}\n'
        for i in range(2)
    )


def files_under(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file()
    }


def outside_writable(project: Path, tmp_path: Path) -> dict[str, tuple[int, int]]:
    """Every file under the test's tmp folder except the project's writable folders."""
    allowed = tuple(str((project / name).relative_to(tmp_path)) + "/" for name in WRITABLE)
    return {
        name: stamp for name, stamp in files_under(tmp_path).items() if not name.startswith(allowed)
    }


@dataclass(frozen=True)
class Scene:
    run: Run
    project: Path
    tmp_path: Path
    own_tmp: Path
    emulator: Emulator


@pytest.fixture
def scene(
    run: Run, empty_project: Path, tmp_path: Path, own_tmp: Path, emulator: Emulator
) -> Scene:
    return Scene(run, empty_project, tmp_path, own_tmp, emulator)


def apply_with_one_hostile_asset(scene: Scene, provider: str) -> str:
    """Apply clip-0 and clip-1; clip-0 succeeds, clip-1 fails cleanly. Returns clip-1's reason."""
    run, project, tmp_path, own_tmp = scene.run, scene.project, scene.tmp_path, scene.own_tmp
    write_spec(project, "a.toml", two_assets(provider))
    before = outside_writable(project, tmp_path)
    result = run(project, "apply", "-y")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "unexpected" not in result.output
    assert "1 created" in result.output and "1 failed" in result.output, result.output
    assert (project / "outputs" / "clip-0.gif").is_file()
    assert not list((project / "outputs").glob("clip-1*"))
    assert outside_writable(project, tmp_path) == before
    assert not list(own_tmp.iterdir())
    assert not list((project / ".wanplan" / "tmp").iterdir())
    (line,) = [line for line in result.output.splitlines() if "failed clip-1" in line]
    assert len(line) < 400  # one line, the provider's text clipped
    return line


def next_action(run: Run, project: Path) -> str:
    plan = run(project, "plan", "--format", "json")
    assert plan.exit_code in (0, 2), plan.output  # 2: changes pending
    (change,) = json.loads(plan.output)["changes"]
    assert change["address"] == "clip-1"
    return str(change["action"])


SUBMIT_SHAPES = {
    "not_json": lambda p: "submit answered a body that is not JSON",
    "deep": lambda p: "submit answered a body that is not JSON",
    "not_object": lambda p: "submit answered a list instead of a JSON object",
    "huge": lambda p: "submit answer too large",
    "id_number": lambda p: (
        f"submit answered {field(p, TASK_ID[p])} as a number (12345), expected a string"
    ),
    "id_object": lambda p: (
        f"submit answered {field(p, TASK_ID[p])} as an object, expected a string"
    ),
    "nulls": lambda p: f"submit answered without {field(p, TASK_ID[p])}",
    "envelope_not_object": lambda p: (
        f"submit answered {ENVELOPE[p]} as a string ('ok'), expected an object"
        if ENVELOPE[p]
        else "submit answered a list instead of a JSON object"
    ),
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("shape", sorted(SUBMIT_SHAPES))
def test_a_hostile_submit_answer_is_never_paid_twice(
    provider: str, shape: str, scene: Scene
) -> None:
    run, empty_project, emulator = scene.run, scene.project, scene.emulator
    emulator.set_knobs(hostile_submit=shape)
    if provider in LISTS_TASKS:
        # The provider made a task behind the odd answer: its task list shows it, and it is
        # adopted and collected rather than paid again.
        (empty_project / "wanplan.toml").write_text(f"[providers.{provider}]\nlisting_lag = 0.2\n")
        write_spec(empty_project, "a.toml", two_assets(provider))
        result = run(empty_project, "apply", "-y")
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output and "unexpected" not in result.output
        assert "adopted" in result.output
    else:
        line = apply_with_one_hostile_asset(scene, provider)
        assert f"{provider}: {SUBMIT_SHAPES[shape](provider)}" in line
        assert "wanplan import clip-1 --task-id ID" in line
        # No task list to look in: it stays unconfirmed, and is never submitted again.
        emulator.set_knobs(hostile_submit=None)
        assert "may have made a task" in run(empty_project, "plan").output
        assert next_action(run, empty_project) == "unconfirmed"
        assert run(empty_project, "apply", "-y").exit_code == 1
    prompts = [task.details.get("prompt") for task in emulator.tasks()]
    assert sorted(prompts) == sorted(set(prompts)) and len(prompts) == 2


LISTS_TASKS = ("wavespeed", "dashscope")

POLL_SHAPES = {
    "not_json": lambda p: "poll answered a body that is not JSON",
    "deep": lambda p: "poll answered a body that is not JSON",
    "not_object": lambda p: "poll answered a list instead of a JSON object",
    "huge": lambda p: "poll answer too large",
    "status_number": lambda p: (
        f"poll answered {field(p, STATUS[p])} as a number (7), expected a string"
    ),
    "status_unknown": lambda p: f"poll answered an unknown {field(p, STATUS[p])} 'exploded'",
    "status_missing": lambda p: f"poll answered without {field(p, STATUS[p])}",
    "nulls": lambda p: f"poll answered without {field(p, STATUS[p])}",
    "result_wrong_type": lambda p: {
        "wavespeed": "poll answered data.outputs as a string ('http://127.0.0.1",
        "dashscope": "poll answered output.video_url as a list, expected a string",
        "apixo": "poll answered data.resultJson as an object, expected a string",
        "wanapi": "poll answered video_url as a list, expected a string",
    }[p],
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("shape", sorted(POLL_SHAPES))
def test_a_hostile_poll_answer_fails_its_asset_and_the_task_resumes(
    provider: str, shape: str, scene: Scene
) -> None:
    run, empty_project, emulator = scene.run, scene.project, scene.emulator
    emulator.set_knobs(hostile_poll=shape)
    line = apply_with_one_hostile_asset(scene, provider)
    assert f"{provider}: {POLL_SHAPES[shape](provider)}" in line
    assert "apply again to resume" in line
    # The task is still good at the provider: the next apply collects it without paying again.
    emulator.set_knobs(hostile_poll=None)
    assert next_action(run, empty_project) == "resume"
    again = run(empty_project, "apply", "-y")
    assert again.exit_code == 0 and "1 resumed" in again.output, again.output


DOWNLOAD_CASES = {
    "metadata service": (
        {"result_url_override": "https://169.254.169.254/latest/meta-data/"},
        "result URL 'https://169.254.169.254/latest/meta-data/' is not allowed: "
        "its host 169.254.169.254 is a link-local address",
    ),
    "metadata as a number": (
        {"result_url_override": "http://2852039166/latest/meta-data/"},
        "is not allowed: its host 2852039166 is a link-local address",
    ),
    "private network": (
        {"result_url_override": "https://10.1.2.3/clip.gif"},
        "is not allowed: its host 10.1.2.3 is a private address",
    ),
    "file scheme": (
        {"result_url_override": "file:///etc/passwd"},
        "result URL 'file:///etc/passwd' is not allowed: the file scheme",
    ),
    "javascript scheme": (
        {"result_url_override": "javascript:alert(1)"},
        "is not allowed: the javascript scheme",
    ),
    "credentials": (
        {"result_url_override": "https://user:secret@cdn.example.com/clip.gif"},
        "is not allowed: it carries credentials",
    ),
    "redirect": (
        {"redirect_downloads": "https://169.254.169.254/latest/meta-data/"},
        "result download answered a redirect to "
        "'https://169.254.169.254/latest/meta-data/'; not followed",
    ),
    "web page": (
        {"download_content_type": "text/html; charset=utf-8"},
        "result is not a known media type ('text/html; charset=utf-8')",
    ),
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("case", sorted(DOWNLOAD_CASES))
def test_a_hostile_result_is_not_downloaded(provider: str, case: str, scene: Scene) -> None:
    run, empty_project, emulator = scene.run, scene.project, scene.emulator
    knobs, reason = DOWNLOAD_CASES[case]
    emulator.set_knobs(**knobs)
    line = apply_with_one_hostile_asset(scene, provider)
    assert reason in line
    # Only clip-0's result was fetched (and the web page, which was not kept); a refused URL
    # was never asked for (the tests cannot reach beyond loopback: it would read as an error).
    assert len(emulator.downloads) == (2 if case == "web page" else 1)
    assert next_action(run, empty_project) == "resume"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_result_over_the_cap_leaves_nothing_behind(
    provider: str,
    run: Run,
    empty_project: Path,
    tmp_path: Path,
    own_tmp: Path,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wanplan.apply import download

    monkeypatch.setattr(download, "MAX_RESULT_BYTES", 100)
    family = "wan-2.2" if provider == "wanapi" else "wan-2.5"
    write_spec(
        empty_project,
        "a.toml",
        f'[assets.clip]\nprovider = "{provider}"\nmode = "t2v"\nmodel = "{family}"\n'
        'prompt = "A."\n',
    )
    before = outside_writable(empty_project, tmp_path)
    result = run(empty_project, "apply", "-y")
    assert result.exit_code == 1 and "larger than the 100 byte cap" in result.output
    assert "Traceback" not in result.output
    assert not (empty_project / "outputs").exists()
    assert not list((empty_project / ".wanplan" / "tmp").iterdir())
    assert outside_writable(empty_project, tmp_path) == before
    assert not list(own_tmp.iterdir())


@pytest.mark.parametrize(
    ("url", "on_loopback", "reason"),
    [
        ("https://cdn.example.com/a.mp4", False, None),
        ("https://93.184.216.34/a.mp4", False, None),
        ("http://cdn.example.com/a.mp4", False, "plain http"),
        ("http://127.0.0.1:8080/a.gif", True, None),
        ("http://127.0.0.1:8080/a.gif", False, "plain http"),
        ("https://127.0.0.1/a.gif", False, "loopback address"),
        ("https://localhost/a.gif", False, "localhost"),
        ("https://[::1]/a.gif", False, "loopback address"),
        ("https://[::ffff:169.254.169.254]/a.gif", True, "link-local address"),
        ("https://[fe80::1]/a.gif", True, "link-local address"),
        ("https://0xa9.0xfe.0xa9.0xfe/", True, "link-local address"),
        ("https://192.168.1.1/a.gif", True, "private address"),
        ("https://224.0.0.1/a.gif", False, "multicast address"),
        ("https://240.0.0.1/a.gif", False, "reserved address"),
        ("https://0.0.0.0/a.gif", False, "unspecified address"),
        ("ftp://cdn.example.com/a.gif", False, "the ftp scheme"),
        ("data:image/gif;base64,R0lGOD", True, "the data scheme"),
        ("https://cdn.example.com/a b.gif", False, "spaces or control characters"),
        ("https://cdn.example.com@169.254.169.254/", True, "credentials"),
        ("https:///a.gif", False, "no host"),
        ("https://100.100.100.200/latest/", False, "non-public address"),  # Alibaba metadata
        ("https://169.254.169.254./latest/", False, "link-local address"),  # trailing dot
        ("https://localhost./a.gif", False, "localhost"),
        ("https://[2002:a9fe:a9fe::]/a.gif", False, "address"),  # 6to4 of 169.254.169.254
        ("https://%31%36%39.254.169.254/", False, "percent-encoded"),
        ("https://8.8.8.8/a.gif", False, None),
    ],
)
def test_result_url_rules(url: str, on_loopback: bool, reason: str | None) -> None:
    found = refusal(url, on_loopback)
    assert found == reason if reason is None else reason in (found or "")


def test_an_answer_without_a_length_is_capped_while_it_streams() -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):  # 64 MB, no Content-Length
            sent.append(65536)
            yield b"x" * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    async def poll() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            request = client.build_request("GET", "https://api.example.com/poll")
            await answers.read_capped(client, request, "wavespeed", "poll")

    with pytest.raises(ProviderError, match="wavespeed: poll answer too large"):
        asyncio.run(poll())
    assert sum(sent) <= answers.MAX_ANSWER_BYTES + 65536  # stopped reading at the cap


def test_a_reported_duration_must_be_sane() -> None:
    assert answers.seconds(12.5) == 12.5
    assert answers.seconds(90_000, per_second=1000) == 90.0
    for bad in (float("inf"), float("nan"), -3, 0, True, "5", None, 10**12):
        assert answers.seconds(bad) is None


@pytest.mark.parametrize("provider", ["dashscope", "wavespeed"])
@pytest.mark.parametrize(
    "host", ["https://169.254.169.254/latest/", "http://uploads.example.com/", "file:///tmp/x"]
)
def test_an_upload_host_named_by_an_answer_is_checked_before_the_file_is_sent(
    tmp_path: Path, provider: str, host: str
) -> None:
    """A hostile policy or ticket must not make wanplan send the user's input file to the
    cloud metadata service or anywhere but a public https host."""
    from wanplan.config import ProviderSettings
    from wanplan.providers.base import ProviderContext, RequestInput
    from wanplan.providers.dashscope import DashScopeProvider
    from wanplan.providers.wavespeed import WaveSpeedProvider

    image = tmp_path / "still.png"
    image.write_bytes(b"\x89PNG secret bytes")
    sent_to: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent_to.append(str(request.url))
        if request.url.params.get("action") == "getPolicy":
            return httpx.Response(200, json={"data": {"upload_host": host, "upload_dir": "d"}})
        return httpx.Response(
            200,
            json={"data": {"upload": {"method": "PUT", "url": host}, "download_url": "x"}},
        )

    async def upload() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            context = ProviderContext(ProviderSettings(), client, "https://api.test", "k", None)
            item = RequestInput("image", "inputs/still.png", "ab" * 32, image)
            if provider == "dashscope":
                await DashScopeProvider(context).upload(item, "wan2.7-i2v")
            else:
                await WaveSpeedProvider(context).upload(item)

    with pytest.raises(ProviderError) as refused:
        asyncio.run(upload())
    assert "upload host" in str(refused.value) and "is not allowed" in str(refused.value)
    assert all(not url.startswith(host) for url in sent_to)


def test_a_providers_message_cannot_rewrite_a_terminal_line() -> None:
    from wanplan.errors import ProviderAuthError, ProviderError

    for exc in (
        ProviderError("wavespeed", "bad request\x1b[2J\rall good"),
        ProviderAuthError("wavespeed", "denied\x1b[2J\rall good", "WAVESPEED_API_KEY"),
    ):
        shown = str(exc)
        assert shown.isprintable() and "\\x1b[2J\\rall good" in shown


def test_a_provider_echoing_the_key_in_an_error_never_shows_it() -> None:
    """Errors reach logs and pull-request comments: a key the provider echoes is masked."""
    import httpx

    from wanplan.errors import ProviderError
    from wanplan.providers import wire

    key = "sk-live-0123456789abcdef"
    request = httpx.Request("POST", "https://api.example/x", headers=wire.bearer(key))
    response = httpx.Response(400, request=request)
    try:
        wire.raise_for_status("wavespeed", response, "WAVESPEED_API_KEY", f"bad key {key}!")
    except ProviderError as exc:
        assert key not in str(exc) and "bad key ***!" in str(exc)
    else:
        raise AssertionError("a 400 must raise")
