"""Assets that use other assets' outputs: `image = "asset:hero-still"`.

The references form a graph that must have no cycle. Assets are resolved (and applied) upstream
first, so that a downstream asset's content key can include its upstream's content key: a change
upstream then replaces everything downstream of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

ASSET_PREFIX = "asset:"
INPUT_FIELDS = ("image", "first_frame", "last_frame", "audio", "video", "references", "grid")


class _Named(Protocol):
    @property
    def address(self) -> str: ...

    @property
    def spec(self) -> Any: ...


T = TypeVar("T", bound=_Named)


def references(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, upstream address) for every `asset:` input of one asset's spec."""
    found: list[tuple[str, str]] = []
    for field in INPUT_FIELDS:
        value = spec.get(field)
        if not value:
            continue
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, str) and item.startswith(ASSET_PREFIX):
                label = f"{field}[{index}]" if isinstance(value, list) else field
                found.append((label, item[len(ASSET_PREFIX) :]))
    return found


def upstream_order(assets: Sequence[T]) -> tuple[list[T], list[list[str]]]:
    """The assets with every upstream before its dependants, and the cycles found (each as
    the addresses around it, the first repeated at the end). Assets on or downstream of a
    cycle are left out of the order. Unknown upstreams are the resolver's to report."""
    by_address = {a.address: a for a in assets}
    edges = {a.address: [u for _, u in references(a.spec) if u in by_address] for a in assets}
    if not any(edges.values()):
        return list(assets), []
    order: list[T] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done (ordered or blocked)
    blocked: set[str] = set()
    cycles: list[list[str]] = []
    for start in by_address:
        if start in state:
            continue
        path: list[str] = [start]
        pending: list[Iterator[str]] = [iter(edges[start])]
        state[start] = 1
        while pending:
            upstream = next(pending[-1], None)
            if upstream is None:
                done = path.pop()
                pending.pop()
                state[done] = 2
                if done not in blocked and not any(u in blocked for u in edges[done]):
                    order.append(by_address[done])
                else:
                    blocked.add(done)
                continue
            if state.get(upstream) == 1:
                cycle = [*path[path.index(upstream) :], upstream]
                cycles.append(cycle)
                blocked.update(cycle)
            elif upstream not in state:
                state[upstream] = 1
                path.append(upstream)
                pending.append(iter(edges[upstream]))
    return order, cycles


def with_upstreams(edges: Mapping[str, Sequence[str]], addresses: Iterable[str]) -> set[str]:
    """The addresses given and everything upstream of them (`edges`: address -> upstreams)."""
    seen: set[str] = set()
    stack = list(addresses)
    while stack:
        address = stack.pop()
        if address not in seen:
            seen.add(address)
            stack.extend(edges.get(address, ()))
    return seen
