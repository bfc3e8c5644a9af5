"""Which providers an apply needs, with their base URLs and keys, settled before any request.

A missing key fails here, naming its variable, before anything is sent or asked."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import httpx

from wanplan.apply.submit_window import SubmitTiming
from wanplan.config import Config, ProviderSettings
from wanplan.errors import ApplyRefused
from wanplan.plan.model import Action, Plan
from wanplan.providers import wire
from wanplan.providers.base import Provider, ProviderContext
from wanplan.providers.registry import provider_class

# Actions that talk to a provider (a resume polls the task it collects).
_CALLS_PROVIDER = frozenset({Action.CREATE, Action.REPLACE, Action.RESUME, Action.REPAIR})


@dataclass(frozen=True)
class ProviderSetup:
    name: str
    cls: type[Provider]
    settings: ProviderSettings
    base_url: str
    key_env: str | None
    api_key: str | None = field(default=None, repr=False)  # never in a repr or a log
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)
    """Injected (tests: the emulator in process; a proxy): every request goes through it."""

    @property
    def timing(self) -> SubmitTiming:
        return SubmitTiming.of(self.cls, self.settings, self.base_url)

    def client(self) -> httpx.AsyncClient:
        """The provider's own client, or one on the injected transport with wanplan's timeouts
        and no redirects followed."""
        if self.transport is None:
            return self.cls.make_client(self.settings)
        return httpx.AsyncClient(
            transport=self.transport, timeout=wire.DEFAULT_TIMEOUT, follow_redirects=False
        )

    def build(self, client: httpx.AsyncClient) -> Provider:
        return self.cls(
            ProviderContext(self.settings, client, self.base_url, self.api_key, self.key_env)
        )


def providers_needed(plan: Plan) -> list[str]:
    names = {
        c.asset.provider
        for c in plan.changes
        if c.asset is not None and c.action in _CALLS_PROVIDER and c.source is None
    }
    return sorted(names)


def setup_providers(
    config: Config, names: list[str], transport: httpx.AsyncBaseTransport | None = None
) -> dict[str, ProviderSetup]:
    setups: dict[str, ProviderSetup] = {}
    missing: list[str] = []
    for name in names:
        cls = provider_class(name)
        settings = config.provider(name)
        key_env = wire.key_variable(settings, cls.key_env)
        api_key = os.environ.get(key_env) if key_env else None
        if api_key is not None:
            api_key = api_key.strip()  # a key pasted from a file often ends in a newline
        if key_env and not api_key:
            missing.append(f"set {key_env} to your {name} API key")
        elif key_env and api_key and not api_key.isprintable():
            missing.append(f"{key_env} holds control characters; set it to the key alone")
        base_url = wire.resolve_base_url(name, settings, cls.default_base_url(settings))
        setups[name] = ProviderSetup(name, cls, settings, base_url, key_env, api_key, transport)
    if missing:
        raise ApplyRefused(
            "missing API key: " + "; ".join(missing) + " (nothing was sent; `plan` needs no key)"
        )
    return setups


def listing_setups(
    config: Config, names: list[str], transport: httpx.AsyncBaseTransport | None = None
) -> dict[str, ProviderSetup]:
    """The setups of these providers that can list their tasks and have a key here; the
    others are left out (reconciliation then leaves their submits unconfirmed)."""
    setups: dict[str, ProviderSetup] = {}
    for name in names:
        if not lists_tasks(name):
            continue
        try:
            setups.update(setup_providers(config, [name], transport))
        except ApplyRefused:
            continue
    return setups


def lists_tasks(name: str) -> bool:
    """Whether this provider can list the account's tasks (providers/base.py ListsTasks)."""
    return callable(getattr(provider_class(name), "list_tasks", None))
