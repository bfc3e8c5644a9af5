"""The adapters: the loopback-only server, the `wanplan emulator` command, the in-process
transport; and what does not depend on them: deterministic result media."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import Run
from tests.emulator.conftest import WAVESPEED, sha256
from wanplan.emulator import (
    Emulator,
    Knobs,
    LoopbackOnly,
    LoopbackServer,
    Request,
    provider_base_urls,
    running,
)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::", ""])
def test_only_loopback_is_served(host: str) -> None:
    with pytest.raises(LoopbackOnly, match="only on loopback"):
        LoopbackServer(Emulator(), host, 0)
    with pytest.raises(LoopbackOnly), running(host=host):
        pass


def test_the_command_refuses_other_hosts_in_one_line(run: Run, tmp_path: Path) -> None:
    result = run(tmp_path, "emulator", "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: the emulator serves only on loopback (127.0.0.1, ::1, localhost), not '0.0.0.0'"
    ]


def test_the_command_serves_until_interrupted(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "wanplan", "emulator", "--port", "0", "--latency", "0"]
    command += ["--api-key", "cli-key"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    ) as process:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(6)]
        base_url = banner[0].split(" on ")[1].split()[0]
        assert banner[1].strip() == f"export WANPLAN_WAVESPEED_BASE_URL={base_url}"
        assert banner[2].strip() == f"export WANPLAN_DASHSCOPE_BASE_URL={base_url}/api/v1"
        with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer cli-key"}) as http:
            task_id = WAVESPEED.submit(http)
            assert WAVESPEED.poll(http, task_id).json()["data"]["status"] == "completed"
            assert (
                http.get("/api/v3/balance", headers={"Authorization": "Bearer x"}).status_code
                == 401
            )
        line = process.stdout.readline()
        assert line.split() == ["wavespeed", "POST", WAVESPEED.submit_path, "->", "200"]
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0 and "Stopped." in out
    assert "cli-key" not in out + err + "".join(banner)


def test_provider_base_urls() -> None:
    assert provider_base_urls("http://127.0.0.1:9") == {
        "WANPLAN_WAVESPEED_BASE_URL": "http://127.0.0.1:9",
        "WANPLAN_DASHSCOPE_BASE_URL": "http://127.0.0.1:9/api/v1",
        "WANPLAN_APIXO_BASE_URL": "http://127.0.0.1:9/api/v1",
        "WANPLAN_WANAPI_BASE_URL": "http://127.0.0.1:9/v1",
    }


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_loopback() -> None:
    with running(host="::1") as base_url:
        assert base_url.startswith("http://[::1]:")
        assert httpx.get(f"{base_url}/_emulator/knobs").status_code == 200


def test_chunked_request_bodies_and_head(live: tuple[Emulator, str]) -> None:
    emulator, base_url = live
    emulator.set_knobs(latency=0)

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"prompt": '
        yield b'"streamed"}'

    with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer k"}) as http:
        answer = http.post(
            WAVESPEED.submit_path, content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200, answer.text
        task_id = answer.json()["data"]["id"]
        assert emulator.log[0].json == {"prompt": "streamed"}
        url = WAVESPEED.poll(http, task_id).json()["data"]["outputs"][0]
        head = http.head(url)
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == emulator.results[task_id].size
        assert emulator.downloads == []  # a HEAD is not a download


def test_keep_alive_connection_serves_many_requests(live: tuple[Emulator, str]) -> None:
    _, base_url = live
    with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer k"}) as http:
        for _ in range(5):
            assert http.get("/api/v3/balance").status_code == 200


def test_request_values_parse_targets_and_keys() -> None:
    request = Request.build(
        "post",
        "/a/b?x=1&x=2&empty=",
        [("Authorization", "bearer  k1 "), ("X-Thing", "v")],
        b"{}",
        "http://127.0.0.1:5/",
    )
    assert (request.method, request.path, request.origin) == ("POST", "/a/b", "http://127.0.0.1:5")
    assert request.query == {"x": "1", "empty": ""}
    assert request.header("x-thing") == "v" and request.bearer_key() == "k1"
    assert Request.build("GET", "/", [("Authorization", "Basic abc")]).bearer_key() is None


def test_same_request_same_media_on_any_emulator() -> None:
    def result(port: int, prompt: str) -> str:
        emulator = Emulator(Knobs(latency=0))
        origin = f"http://127.0.0.1:{port}"
        body = WAVESPEED.body(prompt) | {"audio": f"{origin}/files/uploads/u000001/a.wav"}
        answer = emulator.handle(
            Request.build(
                "POST",
                WAVESPEED.submit_path,
                [("Authorization", "Bearer k"), ("Content-Type", "application/json")],
                httpx.Request("POST", "/", json=body).read(),
                origin,
            )
        )
        task_id = answer.json()["data"]["id"]
        url = emulator.handle(
            Request.build(
                "GET",
                f"/api/v3/predictions/{task_id}",
                [("Authorization", "Bearer k")],
                b"",
                origin,
            )
        )
        path = url.json()["data"]["outputs"][0].removeprefix(origin)
        data = emulator.handle(Request.build("GET", path, [], b"", origin)).content()
        assert sha256(data) == emulator.results[task_id].sha256
        return sha256(data)

    assert result(1111, "a bay") == result(2222, "a bay")
    assert result(1111, "a bay") != result(1111, "a cove")
