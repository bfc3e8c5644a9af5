"""The assets as a graph: which asset uses which other asset's output, and which input files.
Mermaid (renders in GitHub markdown) and Graphviz DOT."""

from __future__ import annotations

import json
from collections.abc import Sequence

from wanplan.spec.resolved import ResolvedAsset


def _edges(assets: Sequence[ResolvedAsset], files: bool) -> list[tuple[str, str, str]]:
    """(source, target, field): upstream asset or input file -> the asset that uses it."""
    edges = []
    for asset in assets:
        for ref in asset.inputs:
            if ref.upstream is not None:
                edges.append((f"asset:{ref.upstream}", f"asset:{asset.address}", ref.field))
            elif files and not ref.is_url:
                edges.append((f"file:{ref.source}", f"asset:{asset.address}", ref.field))
    return edges


def _label(asset: ResolvedAsset) -> str:
    return f"{asset.address}\n{asset.mode} · {asset.model_id}"


def render_mermaid(assets: Sequence[ResolvedAsset], *, files: bool = True) -> str:
    edges = _edges(assets, files)
    nodes = {f"asset:{a.address}": a for a in sorted(assets, key=lambda a: a.address)}
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]

    def node(name: str) -> str:
        if name not in ids:
            ids[name] = f"n{len(ids)}"
            asset = nodes.get(name)
            text = _label(asset) if asset else name.removeprefix("file:")
            # Mermaid labels: quotes escaped as an entity, line breaks as <br/>.
            text = text.replace('"', "#quot;").replace("\n", "<br/>")
            shape = f'["{text}"]' if asset else f'[("{text}")]'
            lines.append(f"  {ids[name]}{shape}")
        return ids[name]

    for name in nodes:
        node(name)
    for source, target, field in sorted(edges):
        lines.append(f"  {node(source)} -->|{field}| {node(target)}")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    """A DOT string: JSON's escaping (quotes, backslashes, newlines as \\n) suits it."""
    return json.dumps(text, ensure_ascii=False)


def render_dot(assets: Sequence[ResolvedAsset], *, files: bool = True) -> str:
    lines = ["digraph wanplan {", "  rankdir=LR;", "  node [shape=box];"]
    for asset in sorted(assets, key=lambda a: a.address):
        lines.append(f"  {_quoted('asset:' + asset.address)} [label={_quoted(_label(asset))}];")
    declared: set[str] = set()
    for source, target, field in sorted(_edges(assets, files)):
        if source.startswith("file:") and source not in declared:
            declared.add(source)
            label = _quoted(source.removeprefix("file:"))
            lines.append(f"  {_quoted(source)} [label={label}, shape=note];")
        lines.append(f"  {_quoted(source)} -> {_quoted(target)} [label={_quoted(field)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
