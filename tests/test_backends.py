"""Where the state and the cache are opened from (`wanplan/backends.py`), and that no URL
or path in the settings can carry a password into a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Run

PASSWORD = "hunter2-secret"


def settings(project: Path, text: str) -> None:
    (project / "wanplan.toml").write_text(text)


@pytest.mark.parametrize(
    "text",
    [
        f'[state]\nurl = "postgresql://bob:{PASSWORD}@db.internal/wan"\n',
        f'[state]\nurl = "postgresql://bob@db.internal/wan?password={PASSWORD}"\n',
        f'[cache]\nurl = "s3://key:{PASSWORD}@bucket/prefix"\n',
        f'[cache]\nurl = "s3://bucket/prefix?secret_access_key={PASSWORD}"\n',
        f'[project]\nstate = "postgresql://bob:{PASSWORD}@db.internal/wan"\n',
        f'[project]\nstate = "//bob:{PASSWORD}@db.internal/wan"\n',
    ],
)
def test_a_password_in_the_settings_is_refused_and_never_echoed(
    run: Run, project: Path, text: str
) -> None:
    settings(project, text)
    for command in ("plan", "refresh", "show"):
        result = run(project, command)
        assert result.exit_code == 1, result.output
        assert "wanplan.toml" in result.output
        assert PASSWORD not in result.output


def test_a_password_in_the_environment_is_refused_and_never_echoed(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANPLAN_STATE_URL", f"postgresql://bob:{PASSWORD}@db.internal/wan")
    result = run(project, "plan")
    assert result.exit_code == 1 and "WANPLAN_STATE_URL" in result.output
    assert PASSWORD not in result.output
    monkeypatch.delenv("WANPLAN_STATE_URL")
    monkeypatch.setenv("WANPLAN_CACHE_URL", f"s3://bucket/p?aws_secret_access_key={PASSWORD}")
    result = run(project, "apply", "-y")
    assert result.exit_code == 1 and "WANPLAN_CACHE_URL takes no query" in result.output
    assert PASSWORD not in result.output


def test_a_backend_this_version_cannot_open_is_one_line_naming_its_scheme(
    run: Run, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANPLAN_CACHE_URL", "gs://bucket/prefix")
    result = run(project, "plan")
    assert result.exit_code == 1
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert "'gs'" in line and "[cache] url" in line
    assert not (project / "state").exists()  # nothing was opened or created


def test_a_cache_request_that_failed_says_its_cause_and_never_the_body() -> None:
    from wanplan.blobs.s3 import CacheRefused, _asking
    from wanplan.errors import WanplanError

    cases = {
        "error sending request: tcp connect error: Connection refused (os error 111)": (
            "connection refused"
        ),
        "client error (Connect): dns error: failed to lookup address information": (
            "host not found"
        ),
        "Generic S3 error: request or response body error: operation timed out": "timed out",
        "Generic S3 error: received status 403 <Error><AWSAccessKeyId>AKIA1</...>": "HTTP 403",
    }
    for raised, cause in cases.items():
        with pytest.raises(CacheRefused) as refused, _asking("s3://b/p", "a test upload"):
            raise RuntimeError(raised)
        assert str(refused.value) == (
            f"s3://b/p: a test upload failed ({cause}); check the bucket and the AWS_* variables"
        )
    # wanplan's own refusal before any request (an http:// endpoint off loopback) is its line
    with pytest.raises(WanplanError) as own, _asking("s3://b/p", "a test upload"):
        raise WanplanError("AWS_ENDPOINT_URL: http:// is allowed only on loopback")
    assert str(own.value) == "AWS_ENDPOINT_URL: http:// is allowed only on loopback"
