"""Batch rows as numpy columns: the unit the write path (spans, raw rows, rollups) works on.

The daemon hands over a minute of tuples, simulate and import hand over hours of arrays;
both become the same columns, with SQL NULL as NaN (sqlite stores a bound NaN as NULL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

# The columns of the batch table, in the order of a row tuple.
COLUMNS = (
    "ts",
    "channel_id",
    "duration_ms",
    "n",
    "mean",
    "min",
    "max",
    "rms",
    "vrms",
    "frequency_hz",
    "irms",
    "real_power_w",
    "apparent_power_va",
    "power_factor",
    "flags",
)
MEASURES = COLUMNS[8:14]  # vrms ... power_factor: what analysis computes, by the channel's kind
INT_COLUMNS = frozenset({"ts", "channel_id", "duration_ms", "n", "min", "max", "flags"})
# A batch may be split between two rollup buckets, never three: the finest bucket is 10 s.
MAX_DURATION_MS = 10_000


class Batches:
    """Columns of batch rows (ts = end of the batch in ms UTC; it covers [ts - duration_ms, ts))."""

    def __init__(self, columns: dict[str, np.ndarray]):
        self.columns = columns

    @classmethod
    def from_rows(cls, rows: Sequence[tuple]) -> Batches:
        """From row tuples in COLUMNS order (None for NULL)."""
        if not rows:
            return cls.empty()
        cols = list(zip(*rows, strict=True))
        return cls(
            {
                name: np.array(col, dtype=np.int64 if name in INT_COLUMNS else float)
                for name, col in zip(COLUMNS, cols, strict=True)
            }
        )

    @classmethod
    def from_arrays(cls, **arrays: Iterable) -> Batches:
        """From named arrays of equal length; columns left out are NULL (or 0 for flags)."""
        length = len(np.asarray(arrays["ts"]))
        columns = {}
        for name in COLUMNS:
            dtype = np.int64 if name in INT_COLUMNS else float
            if name in arrays:
                columns[name] = np.asarray(arrays[name]).astype(dtype, copy=False)
            elif name == "flags":
                columns[name] = np.zeros(length, dtype=np.int64)
            else:
                columns[name] = np.full(length, np.nan)
        return cls(columns)

    @classmethod
    def empty(cls) -> Batches:
        return cls.from_arrays(ts=np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.columns["ts"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def take(self, which: np.ndarray) -> Batches:
        """The rows selected by a boolean mask or an index array."""
        return Batches({name: col[which] for name, col in self.columns.items()})

    def check(self) -> None:
        """Durations the rollups can split: 1 ms to MAX_DURATION_MS."""
        d = self.columns["duration_ms"]
        if len(d) and (d.min() < 1 or d.max() > MAX_DURATION_MS):
            raise ValueError(f"batch durations must be 1 to {MAX_DURATION_MS} ms")

    def unique_sorted(self) -> Batches:
        """Sorted by (ts, channel_id), the table's key order; repeated keys kept once."""
        ts, ch = self.columns["ts"], self.columns["channel_id"]
        order = np.lexsort((ch, ts))
        ts, ch = ts[order], ch[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (ts[1:] != ts[:-1]) | (ch[1:] != ch[:-1])
        return self.take(order[first])

    def rows(self) -> list[tuple]:
        """Row tuples in COLUMNS order, for executemany."""
        return list(zip(*(self.columns[name].tolist() for name in COLUMNS), strict=True))
