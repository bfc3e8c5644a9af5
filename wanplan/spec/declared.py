"""The project's declared assets, resolved for one profile: the specs with the profile's
overrides, checked against the catalog, each with its content key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wanplan.catalog import Catalog
from wanplan.config import CONFIG_FILE
from wanplan.errors import PlanError, SpecError, SpecIssue, printable
from wanplan.key.file_hashes import FileHasher
from wanplan.project import DEFAULT_PROFILE, Project
from wanplan.providers.registry import provider_names
from wanplan.spec.dependencies import ASSET_PREFIX
from wanplan.spec.load import load_specs
from wanplan.spec.locate import locate
from wanplan.spec.resolve import Resolver
from wanplan.spec.resolved import ResolvedAsset
from wanplan.spec.suggest import did_you_mean, listing


def resolve_specs(
    project: Project, hasher: FileHasher, catalog: Catalog, profile: str = DEFAULT_PROFILE
) -> list[ResolvedAsset]:
    profiles = project.config.profiles
    if profile != DEFAULT_PROFILE and profile not in profiles:
        raise PlanError(
            f"--profile {printable(profile[:60])}: no [profiles.{printable(profile[:60])}] in "
            f"wanplan.toml; defined: {listing(sorted(profiles)) or 'none'}"
            f"{did_you_mean(profile, sorted(profiles))}"
        )
    specs = load_specs(project.root)
    overrides = profiles.get(profile)
    if overrides:  # a profile's fields win over each asset's own
        specs.assets[:] = [a._replace(spec={**a.spec, **overrides}) for a in specs.assets]
    resolver = Resolver(
        project.root, catalog, provider_names(), project.config.project.default_provider, hasher
    )
    linked = any(ASSET_PREFIX in str(value) for value in (overrides or {}).values())
    try:
        return resolver.resolve_all(specs, linked=linked)
    except SpecError as exc:
        if not overrides:
            raise
        text = (project.root / CONFIG_FILE).read_text("utf-8")
        blamed = [_blame_profile(text, profile, overrides, i) for i in exc.issues]
        raise SpecError(blamed) from None


def _blame_profile(
    settings_text: str, profile: str, overrides: Mapping[str, Any], issue: SpecIssue
) -> SpecIssue:
    """An issue with a field the profile set is the profile's: point at wanplan.toml, once
    (the same mistake in every asset is one line to fix)."""
    field = issue.field.rpartition(".")[2]
    if field not in overrides:
        return issue
    return SpecIssue(
        CONFIG_FILE,
        locate(settings_text, ("profiles", profile, field)),
        f"profiles.{profile}.{field}",
        issue.message,
    )
