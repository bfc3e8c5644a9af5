"""An httpx transport that spreads requests over several small connection pools.

httpcore's pool re-examines every connection for every queued request each time a request ends,
so its cost grows with the square of the connections in use: polling 100 tasks through one pool
of 100 connections spent a third of an apply in that bookkeeping. Several pools of a few
connections each keep the same number of connections at a fraction of the cost.
"""

from __future__ import annotations

import itertools
import socket
import ssl

import certifi
import httpx

CONNECTIONS_PER_POOL = 8
# Send small requests at once: with Nagle's algorithm, a body written after its headers waits
# for the server's delayed ACK (about 40 ms).
SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class PooledTransport(httpx.AsyncBaseTransport):
    def __init__(self, connections: int) -> None:
        pools = max(1, -(-connections // CONNECTIONS_PER_POOL))
        limits = httpx.Limits(
            max_connections=CONNECTIONS_PER_POOL, max_keepalive_connections=CONNECTIONS_PER_POOL
        )
        # One TLS context for all pools (certificate verification on): loading the system's
        # CA certificates takes tens of milliseconds each time.
        context = ssl.create_default_context(cafile=certifi.where())
        self.pools = [
            httpx.AsyncHTTPTransport(limits=limits, verify=context, socket_options=SOCKET_OPTIONS)
            for _ in range(pools)
        ]
        self._next = itertools.cycle(self.pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._next).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self.pools:
            await pool.aclose()
