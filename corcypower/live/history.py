"""GET /api/v1/history: the query checked in the loop, the answer read from power.db off it.

    GET /api/v1/history?channel=NAME[,NAME...]&start=T&end=T&points=N

T is whole ms UTC, or what `corcypower export --start` takes ('now', '-2h', '-30d', ISO 8601;
without an offset, the device's local time). Defaults: end = now, start = end - 24 h, every
channel, points = 1000 (from 1 to 10000, per channel). The range is at most ten years.

The read itself (store/series.py, handed in by services.py: live never opens the database)
runs on a thread of its own, one query at a time, so a long history query never holds up
/state or /live, which have the server's workers. At most QUEUE queries wait; more are 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus

from corcypower.clock import Clock
from corcypower.errors import StoreError, UnknownChannel
from corcypower.live import query
from corcypower.live.messages import cut
from corcypower.live.server import Answer, BadRequest, HTTPError, Request

DAY_MS = 86_400_000
DEFAULT_POINTS = 1000
MAX_POINTS = 10_000
MAX_CHANNELS = 16  # two MCP3208 chips
MAX_RANGE_MS = 3660 * DAY_MS  # ten years, as `corcypower simulate` makes at most
QUEUE = 8
USAGE = "channel=NAME[,NAME...]&start=MS&end=MS&points=N"

# (channel names or None for all, start ms, end ms, points) → the JSON answer
Reader = Callable[[list[str] | None, int, int, int], bytes]


@dataclass(frozen=True)
class HistoryQuery:
    channels: list[str] | None
    start_ms: int
    end_ms: int
    points: int


def parse_history_query(text: str, now_ms: int) -> HistoryQuery:
    """The query of /history with its defaults; BadRequest names the bad parameter."""
    params = query.parse(text, ("channel", "start", "end", "points"), usage=USAGE)
    channels = query.names(params, "channel", MAX_CHANNELS)
    end = query.moment(params, "end", now_ms)
    end = now_ms if end is None else end
    start = query.moment(params, "start", now_ms)
    start = max(0, end - DAY_MS) if start is None else start
    points = query.whole(params, "points", 1, MAX_POINTS, "points per channel")
    if start >= end:
        raise BadRequest(f"start ({start} ms) is not before end ({end} ms)")
    if end - start > MAX_RANGE_MS:
        days = (end - start) / DAY_MS
        raise BadRequest(f"start to end spans {days:.0f} days; expected at most ten years (3660)")
    return HistoryQuery(channels, start, end, points or DEFAULT_POINTS)


class HistoryEndpoint:
    """The /history handler: `read` answers a query (None: this API has no database)."""

    def __init__(self, read: Reader | None, clock: Clock):
        self.read = read
        self.clock = clock
        self.waiting = 0
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="history")

    async def __call__(self, request: Request) -> Answer:
        asked = parse_history_query(request.query, self.clock.wall_ms())
        if self.read is None:
            raise HTTPError(HTTPStatus.SERVICE_UNAVAILABLE, "no history here: no power.db is read")
        if self.waiting >= QUEUE:
            raise HTTPError(
                HTTPStatus.SERVICE_UNAVAILABLE, f"{QUEUE} history queries wait already; try again"
            )
        self.waiting += 1  # only the loop's thread counts: no lock needed
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, self._answer, asked)
        finally:
            self.waiting -= 1

    def _answer(self, asked: HistoryQuery) -> Answer:
        try:
            body = self.read(asked.channels, asked.start_ms, asked.end_ms, asked.points)
        except UnknownChannel as exc:
            raise BadRequest(cut(str(exc), 300)) from None
        except StoreError as exc:
            raise HTTPError(HTTPStatus.SERVICE_UNAVAILABLE, cut(str(exc), 300)) from None
        return HTTPStatus.OK, body

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
