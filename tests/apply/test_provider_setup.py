"""Keys and base URLs are settled before any request; plan needs neither."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Run, write_spec
from wanplan.config import ProviderSettings
from wanplan.errors import WanplanError
from wanplan.providers import wire

WAVESPEED_SPEC = """[assets.clip]
provider = "wavespeed"
mode = "t2v"
model = "wan-2.6"
prompt = "A kite over a beach."
seed = 3
"""


def test_plan_needs_no_key_and_apply_without_one_sends_nothing(
    run: Run, empty_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WAVESPEED_API_KEY", raising=False)
    write_spec(empty_project, "a.toml", WAVESPEED_SPEC)
    plan = run(empty_project, "plan")
    assert plan.exit_code == 0 and "alibaba/wan-2.6/text-to-video" in plan.output
    assert "$0.50" in plan.output

    applied = run(empty_project, "apply", "-y")
    assert applied.exit_code == 1
    assert "missing API key: set WAVESPEED_API_KEY to your wavespeed API key" in applied.output
    # Refused before any request (a socket beyond loopback would fail the test) and before
    # the state was even created.
    assert not (empty_project / "state" / "wanplan.db").exists()


def test_a_custom_key_variable_is_named(
    run: Run, empty_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (empty_project / "wanplan.toml").write_text(
        '[providers.wavespeed]\napi_key_env = "TEAM_WS_KEY"\n'
    )
    monkeypatch.delenv("TEAM_WS_KEY", raising=False)
    write_spec(empty_project, "a.toml", WAVESPEED_SPEC)
    assert "set TEAM_WS_KEY" in run(empty_project, "apply", "-y").output


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.wavespeed.ai", True),
        ("http://127.0.0.1:8765", True),
        ("http://localhost:8765/", True),
        ("http://[::1]:8765", True),
        ("http://127.9.9.9:1", True),
        ("http://10.0.0.5:8765", False),
        ("http://api.wavespeed.ai", False),
        ("ftp://127.0.0.1", False),
    ],
)
def test_plain_http_only_on_loopback(url: str, ok: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANPLAN_WAVESPEED_BASE_URL", url)
    if ok:
        assert wire.resolve_base_url("wavespeed", ProviderSettings(), "https://x") == url.rstrip(
            "/"
        )
    else:
        with pytest.raises(WanplanError, match="WANPLAN_WAVESPEED_BASE_URL"):
            wire.resolve_base_url("wavespeed", ProviderSettings(), "https://x")


def test_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANPLAN_DASHSCOPE_BASE_URL", raising=False)
    settings = ProviderSettings(base_url="https://proxy.example/api/v1")
    assert (
        wire.resolve_base_url("dashscope", settings, "https://d") == "https://proxy.example/api/v1"
    )
    assert wire.resolve_base_url("dashscope", ProviderSettings(), "https://d") == "https://d"
    monkeypatch.setenv("WANPLAN_DASHSCOPE_BASE_URL", "http://127.0.0.1:9/api/v1")
    assert wire.resolve_base_url("dashscope", settings, "https://d") == "http://127.0.0.1:9/api/v1"


def test_dashscope_regions() -> None:
    from wanplan.providers.dashscope import DashScopeProvider

    assert DashScopeProvider.default_base_url(ProviderSettings()) == (
        "https://dashscope-intl.aliyuncs.com/api/v1"
    )
    beijing = ProviderSettings(region="beijing")
    assert DashScopeProvider.default_base_url(beijing) == "https://dashscope.aliyuncs.com/api/v1"
    with pytest.raises(WanplanError, match="singapore, beijing, virginia"):
        DashScopeProvider.default_base_url(ProviderSettings(region="osaka"))


def test_input_files_over_the_provider_limit_are_refused(run: Run, empty_project: Path) -> None:
    (empty_project / "inputs" / "huge.png").write_bytes(b"\x89PNG" + b"\0" * (10 * 1024 * 1024 - 3))
    write_spec(
        empty_project,
        "a.toml",
        '[assets.big]\nprovider = "apixo"\nmode = "i2v"\nmodel = "wan-2.5"\n'
        'image = "inputs/huge.png"\nprompt = "x"\n',
    )
    result = run(empty_project, "validate")
    assert result.exit_code == 1
    assert (
        "assets.big.image: inputs/huge.png is 10,485,761 bytes; apixo accepts at most "
        "10,485,760 bytes of image" in result.output
    )


def test_every_provider_client_verifies_tls_and_follows_no_redirect() -> None:
    """Certificates and host names are checked on every connection a provider client opens
    (one TLS context for all its pools), and a redirect is never followed with the key."""
    import ssl

    from wanplan.providers.transport import PooledTransport

    client = wire.make_client(ProviderSettings(concurrency=40))
    try:
        assert client.follow_redirects is False
        transport = client._transport
        assert isinstance(transport, PooledTransport) and len(transport.pools) > 1
        contexts = {id(pool._pool._ssl_context) for pool in transport.pools}
        assert len(contexts) == 1
        context = transport.pools[0]._pool._ssl_context
        assert context is not None
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname is True
    finally:
        import asyncio

        asyncio.run(client.aclose())


def test_a_key_with_a_trailing_newline_works_and_control_characters_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wanplan.apply.providers import setup_providers
    from wanplan.config import Config

    monkeypatch.setenv("WAVESPEED_API_KEY", "sk-pasted-from-a-file\n")
    [setup] = setup_providers(Config(), ["wavespeed"]).values()
    assert setup.api_key == "sk-pasted-from-a-file"
    monkeypatch.setenv("WAVESPEED_API_KEY", "sk-a\x1bb")
    with pytest.raises(WanplanError) as refused:
        setup_providers(Config(), ["wavespeed"])
    assert "WAVESPEED_API_KEY holds control characters" in str(refused.value)
    assert "sk-a" not in str(refused.value)
