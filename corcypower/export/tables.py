"""The central tables' rows, made from power.db's closed minutes (pure; no I/O).

ChannelMinute gets each channel's minute as it is. VolumeData (EnergyMonitor's table) gets one
row per point per minute. EnergyMonitor split each reading's signed power P: Supply took
P >= 0 and Usage took |P| for P < 0, per reading, so for one channel over a minute:

    SupplyWh = energy of P > 0      SupplyMaxW = max(maxW, 0)   SupplyMinW = max(minW, 0)
    UsageWh  = energy of P < 0      UsageMaxW  = max(-minW, 0)  UsageMinW  = max(-maxW, 0)
    SupplyAvgW = SupplyWh * 60, UsageAvgW = UsageWh * 60 (Wh over the whole minute, as it did)

with supply = "import" (our P > 0 is power drawn from the grid); supply = "export" swaps the
two sides. A point of several channels (the phases of one supply) adds their energies; its
min/max W are the sums of the channels' extremes, a bound of the true extremes of the sum
(the minute's batches are not kept per phase).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from corcypower.export.config import VolumePoint


class MinuteRow(NamedTuple):
    """One closed minute of one current channel, from power.db's energy_minute view."""

    ts: int  # start of the minute, ms UTC
    channel: str
    import_wh: float | None
    export_wh: float | None
    min_w: float | None
    max_w: float | None
    avg_w: float | None
    batches: int
    duration_ms: int


class Record(NamedTuple):
    """A row for one central table; `name` (channel or point) and ts say which, in logs."""

    table: str
    ts: int
    name: str
    values: tuple


class Rejected(NamedTuple):
    """A record the server refused, and why."""

    record: Record
    error: str


CHANNEL_MINUTE = "ChannelMinute"
VOLUME_DATA = "VolumeData"
# The columns written, and the primary key (kept on a duplicate; the rest is set, never added)
COLUMNS = {
    CHANNEL_MINUTE: (
        "TimeStamp",
        "Point",
        "Channel",
        "ImportWh",
        "ExportWh",
        "MinW",
        "MaxW",
        "AvgW",
        "NumReads",
        "MeasuredSeconds",
    ),
    VOLUME_DATA: (
        "TimeStamp",
        "Point",
        "NumReads",
        "SupplyWh",
        "SupplyMaxW",
        "SupplyMinW",
        "SupplyAvgW",
        "UsageWh",
        "UsageMaxW",
        "UsageMinW",
        "UsageAvgW",
    ),
}
KEYS = {CHANNEL_MINUTE: ("TimeStamp", "Point", "Channel"), VOLUME_DATA: ("TimeStamp", "Point")}


def utc(ts: int) -> datetime:
    """ms UTC → a naive UTC datetime, as MySQL DATETIME columns hold it."""
    return datetime.fromtimestamp(ts / 1000, UTC).replace(tzinfo=None)


def finite(value: float | None) -> float | None:
    """NULL for what MySQL cannot store (sqlite can hold inf): the server then rejects the row."""
    return value if value is not None and math.isfinite(value) else None


def channel_records(point: str, rows: Iterable[MinuteRow]) -> list[Record]:
    return [
        Record(
            CHANNEL_MINUTE,
            r.ts,
            r.channel,
            (
                utc(r.ts),
                point,
                r.channel,
                finite(r.import_wh),
                finite(r.export_wh),
                finite(r.min_w),
                finite(r.max_w),
                finite(r.avg_w),
                r.batches,
                r.duration_ms / 1000,
            ),
        )
        for r in rows
    ]


def volume_records(points: Sequence[VolumePoint], rows: Iterable[MinuteRow]) -> list[Record]:
    """One VolumeData row per point per minute that has any of the point's channels."""
    minutes: dict[int, dict[str, MinuteRow]] = {}
    for r in rows:
        minutes.setdefault(r.ts, {})[r.channel] = r
    records = []
    for ts, by_channel in minutes.items():
        for point in points:
            present = [by_channel[c] for c in point.channels if c in by_channel]
            if present:
                records.append(Record(VOLUME_DATA, ts, point.name, _volume(ts, point, present)))
    return records


def _volume(ts: int, point: VolumePoint, rows: list[MinuteRow]) -> tuple:
    imported = _sum(r.import_wh for r in rows)
    exported = _sum(r.export_wh for r in rows)
    high = _sum(r.max_w for r in rows)
    low = _sum(r.min_w for r in rows)
    if point.supply == "export":  # seen from the other side: P becomes -P
        imported, exported = exported, imported
        high, low = _neg(low), _neg(high)
    return (
        utc(ts),
        point.name,
        max(r.batches for r in rows),
        imported,
        _clip(high),
        _clip(low),
        _times(imported, 60),
        exported,
        _clip(_neg(low)),
        _clip(_neg(high)),
        _times(exported, 60),
    )


def _sum(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for v in values:
        if finite(v) is None:
            return None
        total += v
    return total


def _neg(v: float | None) -> float | None:
    return None if v is None else -v


def _clip(v: float | None) -> float | None:
    return None if v is None else (v if v > 0 else 0.0)


def _times(v: float | None, k: float) -> float | None:
    return None if v is None else v * k
