"""Concurrent window fetching against the sample server with 200 ms injected latency per request.

The server runs in its own process (like the real API, its work does not compete with the client
for the GIL). Fetches 12 months (365 days: 13 windows) through :class:`cfusage.fetch._client.Client`
sequentially
(``concurrency=1``, the baseline) and concurrently (the default, 4), and through
:class:`cfusage.fetch._client.AsyncClient`, in the same run. The target: the concurrent fetch takes at
most ``1.3 x ceil(13 / concurrency) x 200 ms`` plus the parse time (the 13 bodies parsed one after
the other, measured here on the same bodies with no latency).

Run: ``make bench`` or ``python -m benchmarks client``.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import best_of

LATENCY = 0.2
START, END = "2025-11-01", "2026-10-31"  # 365 days of the sample: 13 windows
CONCURRENCY = 4
SLACK = 1.3


def _client(srv: Any, concurrency: int) -> Any:
    from cfusage.fetch._client import Client

    return Client(
        token="bench",
        base_url=srv.base_url,
        organization_id=srv.org_id,
        concurrency=concurrency,
        progress=False,
        cache=False,
    )


def _parse_seconds(srv: Any) -> tuple[float, int]:
    """Time to parse the 13 window bodies one after the other (fetched first, not timed)."""
    from cfusage.fetch._client import Client, _Call, windows

    bodies = []
    with httpx.Client() as http:
        for s, e in windows(START, END):
            r = http.get(
                f"{srv.base_url}/organizations/{srv.org_id}/billable/usage",
                params={"from": s.isoformat(), "to": e.isoformat()},
                headers={"Authorization": "Bearer bench"},
            )
            r.raise_for_status()
            bodies.append((_Call("GET", "", (), None, (s, e), False), r.content))

    def parse_all() -> int:
        return sum(len(Client._parse_frame(call, body)) for call, body in bodies)

    seconds, rows = best_of(parse_all, repeat=3)
    return seconds, rows


class _ServerProcess:
    """The sample server in its own process, as the real API is: its work does not share our GIL."""

    def __init__(self, latency: float) -> None:
        code = (
            "import sys; from cfusage.sample._server import SampleServer; "
            f"srv = SampleServer(port=0, latency={latency!r}).start(); "
            "print(srv.base_url, srv.org_id, flush=True); sys.stdin.read(); srv.stop()"
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert self._proc.stdout is not None
        self.base_url, self.org_id = self._proc.stdout.readline().split()

    def __enter__(self) -> _ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=30)


def main() -> dict[str, float]:
    from cfusage.fetch._client import AsyncClient, windows

    n_windows = len(windows(START, END))
    with _ServerProcess(LATENCY) as srv:
        parse, rows = _parse_seconds(srv)  # also warms the server's per-day encoding cache

        def fetch(concurrency: int) -> int:
            with _client(srv, concurrency) as c:
                return len(c.usage(START, END))

        async def fetch_async() -> int:
            async with AsyncClient(
                token="bench",
                base_url=srv.base_url,
                organization_id=srv.org_id,
                concurrency=CONCURRENCY,
                progress=False,
                cache=False,
            ) as c:
                return len(await c.usage(START, END))

        sequential, n_seq = best_of(lambda: fetch(1), repeat=2)
        concurrent, n_con = best_of(lambda: fetch(CONCURRENCY), repeat=3)
        in_async, n_async = best_of(lambda: asyncio.run(fetch_async()), repeat=3)
    assert n_seq == n_con == n_async == rows, (n_seq, n_con, n_async, rows)

    rounds = math.ceil(n_windows / CONCURRENCY)
    bound = SLACK * rounds * LATENCY + parse
    print(f"  {n_windows} windows, {rows:,} rows, {LATENCY * 1000:.0f} ms latency per request")
    print(f"  parse time of the {n_windows} bodies, one after the other: {parse:6.3f} s")
    print(f"  sequential (concurrency=1):           {sequential:6.3f} s")
    print(f"  Client (concurrency={CONCURRENCY}):              {concurrent:6.3f} s")
    print(f"  AsyncClient (concurrency={CONCURRENCY}):         {in_async:6.3f} s")
    print(
        f"  speed-up {sequential / concurrent:.2f}x over sequential; target: <= {SLACK} x "
        f"ceil({n_windows}/{CONCURRENCY}) x {LATENCY * 1000:.0f} ms + parse = {bound:.3f} s: "
        f"{'met' if concurrent <= bound else 'MISSED'} (ratio to target {concurrent / bound:.2f})"
    )
    return {
        "sequential_s": sequential,
        "concurrent_s": concurrent,
        "async_s": in_async,
        "parse_s": parse,
        "speedup": sequential / concurrent,
        "ratio_to_target": concurrent / bound,
    }


if __name__ == "__main__":
    main()
