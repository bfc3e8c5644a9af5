"""DashScope's regions by name or id, and workspace endpoints (PROVIDERS.md §4b)."""

from __future__ import annotations

import pytest

from wanplan.config import ProviderSettings
from wanplan.errors import WanplanError
from wanplan.providers.dashscope import region_base_url


@pytest.mark.parametrize(
    ("region", "url"),
    [
        (None, "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("beijing", "https://dashscope.aliyuncs.com/api/v1"),
        ("cn-beijing", "https://dashscope.aliyuncs.com/api/v1"),
        ("hongkong", "https://cn-hongkong.dashscope.aliyuncs.com/api/v1"),
        ("cn-hongkong", "https://cn-hongkong.dashscope.aliyuncs.com/api/v1"),
        ("frankfurt", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("ap-northeast-1", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("virginia", "https://dashscope-us.aliyuncs.com/api/v1"),
    ],
)
def test_regions_by_name_or_id(region: str | None, url: str) -> None:
    assert region_base_url(ProviderSettings(region=region)) == url


def test_a_workspace_has_its_own_endpoint_in_its_region() -> None:
    settings = ProviderSettings(region="frankfurt", workspace="ws-1a2b3c")
    assert region_base_url(settings) == "https://ws-1a2b3c.eu-central-1.maas.aliyuncs.com/api/v1"
    assert (
        region_base_url(ProviderSettings(workspace="ws-9"))
        == "https://ws-9.ap-southeast-1.maas.aliyuncs.com/api/v1"
    )


def test_an_unknown_region_or_a_workspace_that_is_no_host_name_is_refused() -> None:
    with pytest.raises(WanplanError, match="tokyo"):
        region_base_url(ProviderSettings(region="osaka"))
    with pytest.raises(ValueError, match="workspace"):
        ProviderSettings(workspace="ws.evil.example/x")
