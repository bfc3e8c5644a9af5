"""What the runners sharing one PostgreSQL state agree through it (PRODUCT §11).

Every limit here is the account's, not one runner's: a provider's concurrent tasks (slots with
leases), its request rate (one token bucket per provider), the day's budget (reservations
with leases), and each model's gate: submits hold it shared, reconciling an unknown submit
holds it alone (a session lock), so that the task list is never read while another runner's
submit of the model is in flight, its task listed but its id not yet in the journal.

Leases run on the server's clock and are renewed by each runner's heartbeat; a runner that dies
stops renewing, and what it held lapses after `lease_seconds`. Session locks go with its
connection at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING

from wanplan.money import as_decimal_string

if TYPE_CHECKING:
    from wanplan.state.postgres import PostgresState


NOW = "extract(epoch from clock_timestamp())"

SCHEMA = [
    """create table slots (
        provider text not null, slot integer not null, holder text not null,
        expires_at double precision not null, primary key (provider, slot))""",
    """create table rates (
        provider text primary key, tokens double precision not null,
        updated_at double precision not null)""",
    """create table reservations (
        holder text primary key, day text not null, amount text not null,
        drawn text not null default '0', expires_at double precision not null)""",
]
"""Migration 0002_runners."""


class PostgresTeam:
    """The coordination of runners over one writer's connection (see the module's doc)."""

    def __init__(self, state: PostgresState) -> None:
        self.state = state
        self.conn = state.conn

    def _one(self, sql: str, params: list[object]) -> tuple[object, ...] | None:
        row = self.conn.execute(sql, params).fetchone()
        return tuple(row) if row is not None else None

    @contextmanager
    def _serialised(self, name: str) -> Iterator[None]:
        """One transaction, alone among the runners for `name` until it commits."""
        with self.state.transaction():
            self.conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])
            yield

    # ---- content keys ----------------------------------------------------------------------

    def claim(self, content_key: str, holder: str, lease_seconds: float) -> str | None:
        return self.state.claim(content_key, holder, lease_seconds)

    def release_claim(self, content_key: str, holder: str) -> None:
        self.state.execute(
            "delete from claims where content_key = %s and holder = %s", [content_key, holder]
        )

    def renew_claim(self, content_key: str, holder: str, lease_seconds: float) -> bool:
        """Whether `holder` still holds the key, its lease renewed; False once it lapsed
        (taken over or not): a lapsed claim is never quietly taken back."""
        row = self.state.execute(
            f"update claims set expires_at = {NOW} + %s where content_key = %s and holder = %s"
            f" and expires_at > {NOW} returning 1",
            [lease_seconds, content_key, holder],
        ).fetchone()
        return row is not None

    def live_claims(self) -> dict[str, str]:
        """Content key → holder, for every claim whose lease has not lapsed."""
        rows = self.state.execute(
            f"select content_key, holder from claims where expires_at > {NOW}"
        ).fetchall()
        return {str(key): str(holder) for key, holder in rows}

    # ---- one model's submits -----------------------------------------------------------------

    def try_gate(self, name: str, *, shared: bool = False) -> bool:
        """Take the session lock `name` (no wait), alone or `shared` with other holders:
        held until released or the connection ends."""
        function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        return bool(self._locking(f"select {function}(hashtextextended(%s, 0))", name))

    def release_gate(self, name: str, *, shared: bool = False) -> None:
        function = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
        self._locking(f"select {function}(hashtextextended(%s, 0))", name)

    def _locking(self, sql: str, name: str) -> object:
        row = self.state.execute(sql, [f"wanplan-gate:{name}"]).fetchone()
        return row[0] if row is not None else None

    # ---- the provider's limits ---------------------------------------------------------------

    def take_slot(self, provider: str, limit: int, holder: str, lease_seconds: float) -> int | None:
        """One of the account's `limit` concurrent tasks at `provider`, or None when all are
        held. One statement: the lowest slot number free (never taken, or its holder stopped
        renewing it) is taken; two runners racing for one number cannot both have it (the
        loser gets None and asks again)."""
        row = self.state.execute(
            "insert into slots (provider, slot, holder, expires_at)"
            f" select %s, n, %s, {NOW} + %s from generate_series(0, %s - 1) as n"
            " where not exists (select from slots s where s.provider = %s and s.slot = n"
            f" and s.expires_at > {NOW})"
            # Runners may disagree on the limit (one with the older settings): the live count.
            f" and (select count(*) from slots s where s.provider = %s and s.expires_at > {NOW})"
            " < %s order by n limit 1"
            " on conflict (provider, slot) do update set holder = excluded.holder,"
            f" expires_at = excluded.expires_at where slots.expires_at <= {NOW}"
            " returning slot",
            [provider, holder, lease_seconds, limit, provider, provider, limit],
        ).fetchone()
        return int(row[0]) if row is not None else None

    def release_slot(self, provider: str, slot: int, holder: str) -> None:
        self.state.execute(
            "delete from slots where provider = %s and slot = %s and holder = %s",
            [provider, slot, holder],
        )

    def take_request(self, provider: str, per_minute: float) -> float:
        """A token of the provider's request rate: 0 when taken now, else the seconds until one
        refills (nothing taken). The bucket holds a second's worth, at least one."""
        rate = per_minute / 60.0
        capacity = max(rate, 1.0)
        with self.state.transaction():
            self.conn.execute(
                f"insert into rates (provider, tokens, updated_at) values (%s, %s, {NOW})"
                " on conflict (provider) do nothing",
                [provider, capacity],
            )
            row = self._one(
                f"select tokens, updated_at, {NOW} from rates where provider = %s for update",
                [provider],
            )
            assert row is not None
            tokens, updated, now = (float(v) for v in row)  # type: ignore[arg-type]
            tokens = min(capacity, tokens + max(now - updated, 0.0) * rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / rate
            self.conn.execute(
                "update rates set tokens = %s, updated_at = %s where provider = %s",
                [tokens, now, provider],
            )
        return wait

    # ---- the day's budget --------------------------------------------------------------------

    @contextmanager
    def budget_turn(self) -> Iterator[None]:
        """Check and reserve in one turn: no other runner reserves in between."""
        with self._serialised("wanplan-budget"):
            yield

    def reserved(self, day: str, excluding: str) -> Decimal:
        """What other live runners reserved for `day` and have not drawn yet."""
        rows = self.conn.execute(
            f"select amount, drawn from reservations where day = %s and holder <> %s"
            f" and expires_at > {NOW}",
            [day, excluding],
        ).fetchall()
        return sum((max(Decimal(a) - Decimal(d), Decimal(0)) for a, d in rows), Decimal(0))

    def reserve(self, holder: str, day: str, amount: Decimal, lease_seconds: float) -> None:
        self.conn.execute(
            "insert into reservations (holder, day, amount, drawn, expires_at)"
            f" values (%s, %s, %s, '0', {NOW} + %s) on conflict (holder) do update set"
            " day = excluded.day, amount = excluded.amount, drawn = '0',"
            " expires_at = excluded.expires_at",
            [holder, day, as_decimal_string(amount), lease_seconds],
        )

    def draw(self, holder: str, amount: Decimal) -> None:
        """A task of this runner is paid for (its id committed): it now counts as spent, so
        its estimate leaves the reservation. Call inside the commit's transaction."""
        self.conn.execute(
            "update reservations set drawn = (drawn::numeric + %s::numeric)::text"
            " where holder = %s",
            [as_decimal_string(amount), holder],
        )

    def release_reservation(self, holder: str) -> None:
        with self.state.transaction():
            self.conn.execute("delete from reservations where holder = %s", [holder])

    # ---- the heartbeat -----------------------------------------------------------------------

    def heartbeat(self, holder: str, lease_seconds: float) -> int:
        """Everything `holder` holds lives `lease_seconds` from now; returns its claims' count."""
        with self.state.transaction():
            for table in ("slots", "reservations"):
                self.conn.execute(
                    f"update {table} set expires_at = {NOW} + %s where holder = %s",
                    [lease_seconds, holder],
                )
        return self.state.renew_claims(holder, lease_seconds)

    def release_all(self, holder: str) -> None:
        with self.state.transaction():
            for table in ("claims", "slots", "reservations"):
                self.conn.execute(f"delete from {table} where holder = %s", [holder])
