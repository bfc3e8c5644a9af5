"""wanplan.toml: project settings, validated like specs (one line per issue)."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wanplan.errors import SettingsError, SpecIssue
from wanplan.spec.load import read_toml
from wanplan.spec.locate import locate
from wanplan.spec.model import ASSET_FIELDS, NAME_PATTERN, ProfileSpec
from wanplan.spec.suggest import did_you_mean, listing

CONFIG_FILE = "wanplan.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ProjectSettings(_Strict):
    default_provider: str = "sim"
    state: str = "state/wanplan.db"

    @field_validator("state")
    @classmethod
    def _inside_the_project(cls, value: str) -> str:
        path = PurePosixPath(value)
        if "://" in value or "@" in value:
            raise ValueError(
                "must be a path inside the project, like state/wanplan.db; a database goes "
                "in [state] url"
            )
        if not value.strip() or path.is_absolute() or ".." in path.parts or "\\" in value:
            raise ValueError("must be a path inside the project, like state/wanplan.db")
        return value


class BudgetSettings(_Strict):
    max_per_apply: Decimal | None = Field(default=None, ge=0)
    max_per_asset: Decimal | None = Field(default=None, ge=0)
    max_per_day: Decimal | None = Field(default=None, ge=0)


class ProviderSettings(_Strict):
    base_url: str | None = None
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """The NAME of the variable holding the key (never the key itself)."""
    region: str | None = None
    workspace: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    """DashScope: a workspace id (`ws-…`) for its workspace endpoint in the region."""
    concurrency: int | None = Field(default=None, gt=0, le=10_000)
    requests_per_minute: int | None = Field(default=None, gt=0)
    poll_interval: float | None = Field(default=None, gt=0)
    latency: float | None = Field(default=None, ge=0)
    """Seconds a simulated task takes (sim and emulator only)."""
    listing_lag: float | None = Field(default=None, ge=0, le=3600)
    """Seconds a new task may take to show in the provider's task list (reconciliation)."""
    submit_timeout: float | None = Field(default=None, gt=0, le=600)
    """Seconds a submit may take; a submit that took longer has an unknown outcome."""


def no_secret_in(url: str | None) -> str | None:
    """A URL may name a user, never a password: wanplan.toml is in git (PRODUCT §2)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        raise ValueError("is not a URL") from None
    if not parts.scheme:
        raise ValueError("is not a URL: write it with its scheme, like postgresql://host/db")
    query = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    if password is not None or query & {"password", "sslpassword"}:
        raise ValueError(
            "holds a password, which wanplan never keeps: remove it and give it through the "
            "backend's own environment (PGPASSWORD, PGPASSFILE, AWS_* variables)"
        )
    return url


class StateSettings(_Strict):
    url: str | None = None
    """Where the state lives; None: the SQLite file of [project] state."""
    lease_seconds: int = Field(default=60, gt=0, le=86_400)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return no_secret_in(value)


def plain_cache_url(url: str | None) -> str | None:
    """A cache URL names a bucket and a prefix, and nothing else: credentials, region and
    endpoint come from the AWS_* variables, never from a query that would sit in git."""
    url = no_secret_in(url)
    if url is not None and (urlsplit(url).query or urlsplit(url).fragment):
        raise ValueError(
            "takes no query: give the bucket and prefix only (s3://bucket/prefix); the "
            "credentials, region and endpoint come from the AWS_* variables"
        )
    return url


class CacheSettings(_Strict):
    url: str | None = None
    """Where generated blobs live; None: .wanplan/ in the project."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return plain_cache_url(value)


class Config(_Strict):
    project: ProjectSettings = ProjectSettings()
    budget: BudgetSettings = BudgetSettings()
    state: StateSettings = StateSettings()
    cache: CacheSettings = CacheSettings()
    profiles: dict[str, ProfileSpec] = {}
    """`[profiles.NAME]`: asset fields that override every asset's own under --profile NAME."""

    @field_validator("profiles")
    @classmethod
    def _profile_names(cls, profiles: dict[str, ProfileSpec]) -> dict[str, ProfileSpec]:
        for name in profiles:
            if not NAME_PATTERN.match(name):
                raise ValueError(
                    f"profile name {name!r}: use lowercase letters, digits, '-', '_' and '.'"
                )
        return profiles

    providers: dict[str, ProviderSettings] = {}

    def provider(self, name: str) -> ProviderSettings:
        return self.providers.get(name, ProviderSettings())


def load_config(root: Path) -> Config:
    path = root / CONFIG_FILE
    if not path.exists() and not path.is_symlink():
        return Config()
    data, text = read_toml(root, path, CONFIG_FILE)
    _coerce_money(data)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            loc = tuple(str(part) for part in error["loc"])
            if error["type"] == "extra_forbidden":
                known = _setting_names(loc[:-1])
                hint = did_you_mean(loc[-1], known)
                message = "unknown setting" + (hint or f"; known here: {listing(known)}")
            elif loc[-1] == "api_key_env":
                # Never echo the value: it may be a key pasted where its variable's name goes.
                message = "must be the name of an environment variable, like WAVESPEED_API_KEY"
            elif loc[0] in ("providers", "state", "cache") or loc == ("project", "state"):
                # Nor anything else under [providers], nor a URL: a key or password in it.
                message = error["msg"].removeprefix("Value error, ")
            elif loc[0] == "budget" and error["type"] in ("is_instance_of", "decimal_parsing"):
                message = (
                    f"expected an amount in USD like 20.0, got {error['input']!r}; leave it out "
                    "for no cap"
                )
            else:
                message = f"{error['msg'].removeprefix('Value error, ')}, got {error['input']!r}"
            issues.append(SpecIssue(CONFIG_FILE, locate(text, loc), ".".join(loc), message))
        raise SettingsError(issues, _without(data, [e["loc"] for e in exc.errors()])) from None


def _without(data: dict[str, Any], problems: list[tuple[int | str, ...]]) -> Config | None:
    """The settings with each invalid one left out (so its default applies), or None."""
    kept = copy.deepcopy(data)
    for loc in problems:
        table: Any = kept
        for part in loc[:-1]:
            table = table.get(part) if isinstance(table, dict) else None
        if isinstance(table, dict):
            table.pop(loc[-1], None)
    try:
        return Config.model_validate(kept)
    except ValidationError:
        return None


def _setting_names(table: tuple[str, ...]) -> list[str]:
    """The settings a table of wanplan.toml may hold: `("budget",)` → max_per_apply, …"""
    if table[:1] == ("profiles",):
        return list(ASSET_FIELDS)
    model: type[BaseModel] = Config
    named = iter(table)
    for part in named:
        if part == "providers":  # a table of named tables: skip the name
            next(named, None)
            model = ProviderSettings
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _coerce_money(data: dict[str, Any]) -> None:
    """TOML has no decimal type: budgets written as 20.0 become exact decimals of their text."""
    budget = data.get("budget")
    if isinstance(budget, dict):
        for key, value in budget.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                budget[key] = Decimal(str(value))
