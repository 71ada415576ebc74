"""Capture files: raw ADC counts as CSV, for debugging, calibration and sharing.

    # corcypower capture chip=mcp3208 frame_us=250.000
    t,ch1,ch0
    0.000000,2051,2047
    ...

`t` is seconds from the start to the first conversion of the scan; each ch<N> column holds
the counts of ADC channel N, in scan order, so the conversion in column k happened at
t + k * frame_us. pandas, numpy and any spreadsheet open it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from corcypower.errors import CaptureFormatError

HEADER = re.compile(r"^#\s*corcypower capture\s+chip=(\w+)\s+frame_us=([0-9.eE+-]+)\s*$")
COLUMN = re.compile(r"^ch([0-7])$")


@dataclass
class Capture:
    """A capture in memory: scan times and an (n_scans, n_channels) array of counts."""

    chip: str
    frame_us: float
    channels: list[int]  # ADC channel of each column, in scan order
    t: np.ndarray
    counts: np.ndarray

    def sample_times(self, column: int) -> np.ndarray:
        """When each conversion of one column happened, seconds from the start."""
        return self.t + column * self.frame_us * 1e-6

    @property
    def duration(self) -> float:
        """Seconds covered, from the first conversion to one scan after the last scan began."""
        if len(self.t) < 2:
            return len(self.channels) * self.frame_us * 1e-6
        return float(self.t[-1] - self.t[0] + np.median(np.diff(self.t)))


class CaptureWriter:
    """Writes a capture as scans arrive: `write(t, counts)` per block."""

    def __init__(self, stream: TextIO, chip: str, frame_us: float, channels: list[int]):
        self.stream = stream
        stream.write(f"# corcypower capture chip={chip} frame_us={frame_us:.3f}\n")
        stream.write(",".join(["t"] + [f"ch{c}" for c in channels]) + "\n")

    def write(self, t: np.ndarray, counts: np.ndarray) -> None:
        rows = np.column_stack(
            [np.char.mod("%.6f", t)] + [counts[:, k].astype(str) for k in range(counts.shape[1])]
        )
        self.stream.write("".join(",".join(r) + "\n" for r in rows))


def read(path: str | Path) -> Capture:
    """Read a capture file; errors name the file, the line and what was expected."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CaptureFormatError(f"{path}: no such capture file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CaptureFormatError(f"{path}: cannot read: {exc}") from None
    if not lines or not (m := HEADER.match(lines[0])):
        raise CaptureFormatError(
            f"{path}: line 1: expected '# corcypower capture chip=<chip> frame_us=<µs>'"
        )
    chip, frame_us = m.group(1), float(m.group(2))
    if chip not in ("mcp3008", "mcp3208"):
        raise CaptureFormatError(f"{path}: line 1: chip={chip}: expected mcp3008 or mcp3208")
    if not frame_us > 0:
        raise CaptureFormatError(f"{path}: line 1: frame_us={m.group(2)}: expected a number > 0")
    if len(lines) < 2:
        raise CaptureFormatError(f"{path}: line 2: expected a header t,ch<N>,...")
    names = [c.strip() for c in lines[1].split(",")]
    if names[0] != "t" or len(names) < 2 or not all(COLUMN.match(c) for c in names[1:]):
        raise CaptureFormatError(
            f"{path}: line 2: {lines[1]!r}: expected t,ch<N>,... with N from 0 to 7"
        )
    channels = [int(COLUMN.match(c).group(1)) for c in names[1:]]
    if len(set(channels)) != len(channels):
        raise CaptureFormatError(f"{path}: line 2: a channel appears twice")
    body = [ln for ln in lines[2:] if ln.strip()]
    try:
        data = np.array([[float(x) for x in ln.split(",")] for ln in body], dtype=float)
    except ValueError:
        for number, ln in enumerate(lines[2:], start=3):
            try:
                [float(x) for x in ln.split(",")] if ln.strip() else None
            except ValueError:
                raise CaptureFormatError(
                    f"{path}: line {number}: {ln!r}: expected numbers"
                ) from None
        raise
    if data.ndim != 2 or data.shape[1] != len(names):
        bad = next(
            i
            for i, ln in enumerate(lines[2:], start=3)
            if ln.strip() and ln.count(",") != len(names) - 1
        )
        raise CaptureFormatError(f"{path}: line {bad}: expected {len(names)} values")
    if len(data) < 2:
        raise CaptureFormatError(f"{path}: expected at least two scans")
    full = 1023 if chip == "mcp3008" else 4095
    counts = data[:, 1:]
    if counts.min() < 0 or counts.max() > full or not np.all(counts == np.round(counts)):
        row = int(
            np.argmax(np.any((counts < 0) | (counts > full) | (counts != np.round(counts)), axis=1))
        )
        raise CaptureFormatError(
            f"{path}: line {row + 3}: expected whole counts from 0 to {full} ({chip})"
        )
    if np.any(np.diff(data[:, 0]) <= 0):
        row = int(np.argmax(np.diff(data[:, 0]) <= 0)) + 4
        raise CaptureFormatError(f"{path}: line {row}: t must increase from scan to scan")
    return Capture(chip, frame_us, channels, data[:, 0], counts.astype(np.int64))
