"""Benchmark: the live view's bookkeeping on a large apply.

Run from the repository root with the project's interpreter:

    .venv/bin/python bench/live_board.py                 # 10 000 assets
    .venv/bin/python bench/live_board.py --assets 100000

It feeds a Board the events of an apply (submitting, submitted, downloading, created for every
asset, 8 in flight at a time) and, every 50 events, asks what the view draws (the first rows and
the ETA), as the view does four times a second. The baseline is the same loop storing each
event in a dict. Targets: at most 20 µs of bookkeeping per event and at most 1 ms per redraw,
whatever the number of assets (the apply's event loop waits on both).
The exit status is non-zero only on a crash; a missed target prints MISSED.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

from wanplan.apply.board import Board
from wanplan.apply.events import ApplyEvent
from wanplan.plan.model import Action, Plan, PlanChange
from wanplan.spec.resolved import ResolvedAsset

EVENT_TARGET_US = 20.0
DRAW_TARGET_MS = 1.0
IN_FLIGHT = 8


def plan_of(count: int) -> Plan:
    changes = []
    for index in range(count):
        asset = ResolvedAsset(
            address=f"shot-{index:06d}",
            file="specs/a.toml",
            provider="sim",
            family="wan-2.5",
            model_id=f"sim/wan-2.5/{'t2v' if index % 3 else 'i2v'}",
            mode="t2v",
            params={},
            inputs=(),
            output=None,
            material={},
            content_key=f"{index:064x}",
        )
        changes.append(PlanChange(asset.address, Action.CREATE, asset=asset))
    return Plan("default", None, 0, changes, 0)


def events(plan: Plan) -> list[ApplyEvent]:
    """The events in the order an apply with IN_FLIGHT slots sends them."""
    addresses = [c.address for c in plan.changes]
    sent: list[ApplyEvent] = []
    for start in range(0, len(addresses), IN_FLIGHT):
        batch = addresses[start : start + IN_FLIGHT]
        for kind in ("submitting", "submitted", "downloading"):
            sent.extend(ApplyEvent(a, kind) for a in batch)
        sent.extend(ApplyEvent(a, "created", "out.gif", spent=Decimal("0.5")) for a in batch)
    return sent


def measure(count: int) -> tuple[float, float, float]:
    plan = plan_of(count)
    feed = events(plan)
    clock = iter(range(10**9)).__next__
    board = Board(plan, lambda: float(clock()))
    draws = 0
    draw_time = 0.0
    started = time.perf_counter()
    for number, event in enumerate(feed):
        board.update(event)
        if number % 50 == 0:
            before = time.perf_counter()
            board.first(12)
            board.eta()
            draw_time += time.perf_counter() - before
            draws += 1
    total = time.perf_counter() - started - draw_time
    baseline_started = time.perf_counter()
    seen: dict[str, str] = {}
    for event in feed:
        seen[event.address] = event.kind
    baseline = time.perf_counter() - baseline_started
    return total / len(feed) * 1e6, draw_time / draws * 1e3, total / max(baseline, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=10_000)
    args = parser.parse_args()
    per_event, per_draw, ratio = measure(args.assets)
    print(f"live board, {args.assets} assets, {IN_FLIGHT} in flight:")
    verdict = "ok" if per_event <= EVENT_TARGET_US else "MISSED"
    print(f"  per event {per_event:.1f} us (target <= {EVENT_TARGET_US:.0f}) {verdict}")
    verdict = "ok" if per_draw <= DRAW_TARGET_MS else "MISSED"
    print(f"  per redraw {per_draw:.3f} ms (target <= {DRAW_TARGET_MS:.0f}) {verdict}")
    print(f"  ratio to storing each event in a dict: {ratio:.1f}")


if __name__ == "__main__":
    main()
