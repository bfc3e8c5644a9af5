"""What the four HTTP providers share: construction, their client, their key on their calls,
and the error mapping of their answers. Each provider says how its errors read (`_message`)."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from wanplan.config import ProviderSettings
from wanplan.providers import wire
from wanplan.providers.base import ProviderContext


class HttpProvider:
    name: ClassVar[str]
    key_env: ClassVar[str | None]
    DEFAULT_BASE_URL: ClassVar[str] = ""
    API_PATH: ClassVar[str] = ""
    """Appended to the base URL (WaveSpeed's base URL is written without its /api/v3)."""

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.client = context.client
        self.api = f"{context.base_url}{self.API_PATH}"

    @classmethod
    def default_base_url(cls, settings: ProviderSettings) -> str:
        return cls.DEFAULT_BASE_URL

    @classmethod
    def make_client(cls, settings: ProviderSettings) -> httpx.AsyncClient:
        return wire.make_client(settings)

    def _headers(self) -> dict[str, str]:
        return wire.bearer(self.context.api_key)

    def _message(self, body: dict[str, Any]) -> str:
        return str(body.get("message") or "")

    def _check(self, response: httpx.Response, what: str) -> dict[str, Any]:
        """The JSON body of a 2xx answer; anything else raised as wanplan's errors."""
        body = wire.json_body(response)
        message = self._message(body)
        wire.raise_for_status(self.name, response, self.context.key_env, f"{what}: {message}")
        return body
