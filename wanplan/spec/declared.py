"""The project's declared assets, resolved for one profile: the specs with the profile's
overrides, checked against the catalog, each with its content key."""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wanplan.catalog import Catalog
from wanplan.config import CONFIG_FILE, Config
from wanplan.errors import PlanError, SettingsError, SpecError, SpecIssue, printable
from wanplan.key.file_hashes import FileHasher
from wanplan.project import DEFAULT_PROFILE, Project
from wanplan.providers.registry import provider_names
from wanplan.spec.dependencies import ASSET_PREFIX
from wanplan.spec.load import SpecSet, load_specs
from wanplan.spec.locate import locate
from wanplan.spec.resolve import Resolver
from wanplan.spec.resolved import ResolvedAsset
from wanplan.spec.suggest import did_you_mean, listing, show


def settings(project: Project, profile: str = DEFAULT_PROFILE) -> Config:
    """wanplan.toml's settings, for a command that reads the specs. When they are invalid, the
    error also lists the specs' own problems, found with the valid settings where that can be
    done: every mistake at once, not one stage at a time."""
    try:
        return project.config
    except SettingsError as error:
        issues = list(error.issues)
        try:
            if not isinstance(error.usable, Config):
                issues += load_specs(project.root, collect=True).issues
            else:
                hasher = FileHasher(project.root, {})
                _resolve(project, error.usable, hasher, project.catalog, profile)
        except SpecError as more:
            issues += more.issues
        except PlanError:
            pass  # an unknown --profile: said once the settings are fixed
        raise SpecError(issues) from None


def resolve_specs(
    project: Project, hasher: FileHasher, catalog: Catalog, profile: str = DEFAULT_PROFILE
) -> list[ResolvedAsset]:
    """Every declared asset resolved, or a SpecError with every problem of every file."""
    return _resolve(project, settings(project, profile), hasher, catalog, profile)


@dataclass(frozen=True)
class Validation:
    assets: list[ResolvedAsset]
    """The default profile's assets."""
    cautions: list[str]
    """`specs/a.toml:3: assets.x: seed not pinned…`: what makes a result not reproducible."""

    @property
    def files(self) -> int:
        return len({a.file for a in self.assets})


def validate(project: Project, hasher: FileHasher, catalog: Catalog) -> Validation:
    """`wanplan validate`: every problem of every file (`validate_project`), else the assets
    and where each may not be reproducible, by file and line."""
    assets = validate_project(project, hasher, catalog)
    texts: dict[str, str] = {}
    cautions: list[str] = []
    for asset in assets:
        if not asset.cautions:
            continue
        if asset.file not in texts:
            texts[asset.file] = (project.root / asset.file).read_text("utf-8")
        line = _asset_line(texts[asset.file], asset.address)
        where = f"{asset.file}:{line}" if line else asset.file
        cautions += [f"{where}: assets.{asset.address}: {caution}" for caution in asset.cautions]
    return Validation(assets, cautions)


def _asset_line(text: str, address: str) -> int | None:
    """The line of an asset's table; a matrix member's is its matrix table's."""
    name = address
    while True:
        line = locate(text, ("assets", name))
        if line is not None or "." not in name:
            return line
        name = name.rpartition(".")[0]


def validate_project(project: Project, hasher: FileHasher, catalog: Catalog) -> list[ResolvedAsset]:
    """Every declared asset resolved, and each profile of wanplan.toml tried on them too (a
    profile none of whose values a model allows is found now, not at `plan --profile`): the
    assets of the default profile, or a SpecError with every problem of every file."""
    config = settings(project)
    issues: list[SpecIssue] = []
    assets: list[ResolvedAsset] = []
    try:
        assets = _resolve(project, config, hasher, catalog)
    except SpecError as exc:
        issues += exc.issues
    seen = {(i.file, i.line, i.field, i.message) for i in issues}
    for profile in sorted(config.profiles):
        try:
            _resolve(project, config, hasher, catalog, profile)
        except SpecError as exc:
            for issue in exc.issues:
                if (issue.file, issue.line, issue.field, issue.message) in seen:
                    continue  # the specs' own mistake, said once
                seen.add((issue.file, issue.line, issue.field, issue.message))
                if issue.file != CONFIG_FILE:  # the profile's values made it a mistake
                    issue = dataclasses.replace(
                        issue, message=f"{issue.message} (with --profile {profile})"
                    )
                issues.append(issue)
    if issues:
        raise SpecError(issues)
    return assets


def _resolve(
    project: Project,
    config: Config,
    hasher: FileHasher,
    catalog: Catalog,
    profile: str = DEFAULT_PROFILE,
) -> list[ResolvedAsset]:
    profiles = config.profiles
    if profile != DEFAULT_PROFILE and profile not in profiles:
        raise PlanError(
            f"--profile {printable(profile[:60])}: no [profiles.{printable(profile[:60])}] in "
            f"wanplan.toml; defined: {listing(sorted(profiles)) or 'none'}"
            f"{did_you_mean(profile, sorted(profiles))}"
        )
    specs = load_specs(project.root, collect=True)
    overrides = profiles.get(profile)
    if overrides:  # a profile's fields win over each asset's own
        specs.assets[:] = [a._replace(spec={**a.spec, **overrides}) for a in specs.assets]
    default_provider = config.project.default_provider
    issues = [*specs.issues, *_default_provider_issues(project, default_provider, specs)]
    if profile == DEFAULT_PROFILE:
        issues += _outputs_in_profile_folders(specs, profiles)
    resolver = Resolver(project.root, catalog, provider_names(), default_provider, hasher)
    linked = any(ASSET_PREFIX in str(value) for value in (overrides or {}).values())
    resolved: list[ResolvedAsset] = []
    try:
        resolved = resolver.resolve_all(specs, linked=linked)
    except SpecError as exc:
        found = exc.issues
        if overrides:
            text = (project.root / CONFIG_FILE).read_text("utf-8")
            found = [_blame_profile(text, profile, overrides, i) for i in found]
        issues.extend(found)
    if issues:
        raise SpecError(issues)
    return resolved


def _outputs_in_profile_folders(specs: SpecSet, profiles: Mapping[str, Any]) -> list[SpecIssue]:
    """outputs/<profile>/ is that profile's: an `output` of the default profile may not
    write into it (the two would overwrite each other's files)."""
    issues = []
    for asset in specs.assets:
        output = posixpath.normpath(str(asset.spec.get("output") or "."))
        folder = output.split("/", 1)[0] if "/" in output else None
        if folder in profiles:
            issues.append(
                specs.issue(
                    asset,
                    "output",
                    f"outputs/{folder}/ holds the outputs of --profile {folder}; name a file "
                    "outside it",
                )
            )
    return issues


def _default_provider_issues(project: Project, name: str, specs: SpecSet) -> list[SpecIssue]:
    """A misspelt `default_provider` is wanplan.toml's mistake, reported there once (the
    resolver leaves the assets that use it alone)."""
    providers = sorted(provider_names())
    if name in providers or all(a.spec.get("provider") for a in specs.assets):
        return []
    text = (project.root / CONFIG_FILE).read_text("utf-8")
    return [
        SpecIssue(
            CONFIG_FILE,
            locate(text, ("project", "default_provider")),
            "project.default_provider",
            f"unknown provider {show(name)}; available: {listing(providers)}"
            f"{did_you_mean(name, providers)}",
        )
    ]


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
        issue.asset,
        shared=True,
    )
