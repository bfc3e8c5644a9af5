"""A third-party provider as a plugin would ship it, registered through the entry-point group
in test_plugins.py. It reuses the sim's in-process service for its wire."""

from __future__ import annotations

from typing import ClassVar

from wanplan.providers.sim.provider import SimProvider

CATALOG = """
format_version = 1

[[models]]
provider = "acme"
family = "wan-2.5"
mode = "t2v"
model_id = "acme/wan25-t2v"
resolutions = ["720p"]
durations = [5]
aspect_ratios = ["16:9"]
default_resolution = "720p"
default_duration = 5
default_aspect_ratio = "16:9"

[[prices]]
provider = "acme"
model_id = "acme/wan25-t2v"
mode = "t2v"
resolution = "720p"
unit = "second"
price = "0.07"
currency = "USD"
source = "acme price list"
as_of = 2026-01-01
"""


class AcmeProvider(SimProvider):
    name: ClassVar[str] = "acme"
    key_env: ClassVar[str | None] = "ACME_API_KEY"

    @classmethod
    def catalog_toml(cls) -> str:
        return CATALOG
