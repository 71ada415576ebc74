"""Capture files: raw ADC counts as CSV, for debugging, calibration and sharing.

    # corcypower capture chip=mcp3208 frame_us=250.000
    t,ch1,ch0
    0.000000,2051,2047
    ...

`t` is seconds from the start to the first conversion of the scan; each ch<N> column holds
the counts of ADC channel N, in scan order, so the conversion in column k happened at
t + k * frame_us. pandas, numpy and any spreadsheet open it.

`frame_us` is bounded to what an SPI ADC can do (FRAME_US), `t` to MAX_T_S; a step of `t`
longer than a mains cycle is a hole in the sampling (batching.py), however long: the batch
before it ends there, flagged late, and nothing is bridged.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from corcypower.adc.mcp3xxx import MODELS
from corcypower.errors import CaptureFormatError

FULL_SCALE = {m.name: m.max_count for m in MODELS.values()}  # the largest count of each chip
HEADER = re.compile(r"^#\s*corcypower capture\s+chip=(\w+)\s+frame_us=([0-9.eE+-]+)\s*$")
COLUMN = re.compile(r"^ch([0-7])$")
FRAME_US = (1.0, 100_000.0)  # µs between conversions: 1 MS/s down to 10 S/s
MAX_T_S = 1e10  # seconds from the start (317 years): beyond, times lose their microseconds


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
        if chip not in FULL_SCALE:
            raise ValueError(f"chip {chip!r}: expected one of {', '.join(FULL_SCALE)}")
        if (
            not channels
            or len(set(channels)) != len(channels)
            or not set(channels) <= set(range(8))
        ):
            raise ValueError(f"channels {channels}: expected distinct ADC channels 0 to 7")
        self.stream, self.channels = stream, list(channels)
        self._row = "%.6f" + ",%d" * len(channels) + "\n"
        stream.write(f"# corcypower capture chip={chip} frame_us={frame_us:.3f}\n")
        stream.write(",".join(["t"] + [f"ch{c}" for c in channels]) + "\n")

    def write(self, t: np.ndarray, counts: np.ndarray) -> None:
        """Scans at times `t` (s from the start), counts an (n_scans, n_channels) array."""
        counts = np.asarray(counts)
        if counts.shape != (len(t), len(self.channels)):
            raise ValueError(
                f"counts of shape {counts.shape}: expected ({len(t)}, {len(self.channels)})"
            )
        rows = zip(np.asarray(t, dtype=float).tolist(), *counts.T.tolist(), strict=True)
        self.stream.write("".join(self._row % row for row in rows))


def read(path: str | Path) -> Capture:
    """Read a capture file; errors name the file, the line and what was expected."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # -sig: a spreadsheet's BOM
    except FileNotFoundError:
        raise CaptureFormatError(f"{path}: no such capture file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CaptureFormatError(f"{path}: cannot read: {exc}") from None
    chip, frame_us = _first_line(path, lines[0] if lines else "")
    channels = _columns(path, lines[1] if len(lines) > 1 else "")
    width = len(channels) + 1
    rows, numbers = [], []
    for number, line in enumerate(lines[2:], start=3):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != width:
            raise CaptureFormatError(
                f"{path}: line {number}: {len(fields)} values: expected {width} (t and "
                f"{len(channels)} channels)"
            )
        try:
            values = [float(x) for x in fields]
        except ValueError:
            raise CaptureFormatError(f"{path}: line {number}: {line!r}: expected numbers") from None
        if not all(math.isfinite(v) for v in values):
            raise CaptureFormatError(f"{path}: line {number}: {line!r}: expected finite numbers")
        rows.append(values)
        numbers.append(number)
    if len(rows) < 2:
        raise CaptureFormatError(f"{path}: {len(rows)} scans: expected at least two")
    data = np.array(rows, dtype=float)
    t, counts = data[:, 0], data[:, 1:]
    far = (t < 0) | (t > MAX_T_S)
    if far.any():
        k = int(np.argmax(far))
        raise CaptureFormatError(
            f"{path}: line {numbers[k]}: t = {t[k]:g}: expected seconds from 0 to {MAX_T_S:g}"
        )
    full = FULL_SCALE[chip]
    bad = np.any((counts < 0) | (counts > full) | (counts != np.round(counts)), axis=1)
    if bad.any():
        number = numbers[int(np.argmax(bad))]
        raise CaptureFormatError(
            f"{path}: line {number}: expected whole counts from 0 to {full} ({chip})"
        )
    steps = np.diff(t) <= 0
    if steps.any():
        number = numbers[int(np.argmax(steps)) + 1]
        raise CaptureFormatError(f"{path}: line {number}: t must increase from scan to scan")
    return Capture(chip, frame_us, channels, t, counts.astype(np.int64))


def _first_line(path: Path, line: str) -> tuple[str, float]:
    m = HEADER.match(line)
    if not m:
        raise CaptureFormatError(
            f"{path}: line 1: {line!r}: expected '# corcypower capture chip=<chip> frame_us=<µs>'"
        )
    chip = m.group(1)
    if chip not in FULL_SCALE:
        raise CaptureFormatError(f"{path}: line 1: chip={chip}: expected {' or '.join(FULL_SCALE)}")
    try:
        frame_us = float(m.group(2))
    except ValueError:
        frame_us = math.nan
    low, high = FRAME_US
    if not (math.isfinite(frame_us) and low <= frame_us <= high):
        raise CaptureFormatError(
            f"{path}: line 1: frame_us={m.group(2)}: expected the µs between conversions, "
            f"from {low:g} to {high:g}"
        )
    return chip, frame_us


def read_chip(path: str | Path) -> str:
    """The chip a capture was recorded from, from its first line alone."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig") as f:
            first = f.readline(200)
    except FileNotFoundError:
        raise CaptureFormatError(f"{path}: no such capture file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CaptureFormatError(f"{path}: cannot read: {exc}") from None
    return _first_line(path, first.rstrip("\r\n"))[0]


def _columns(path: Path, line: str) -> list[int]:
    names = [c.strip() for c in line.split(",")]
    if names[0] != "t" or len(names) < 2 or not all(COLUMN.match(c) for c in names[1:]):
        raise CaptureFormatError(
            f"{path}: line 2: {line!r}: expected a header t,ch<N>,... with N from 0 to 7"
        )
    channels = [int(c[2:]) for c in names[1:]]
    twice = sorted({c for c in channels if channels.count(c) > 1})
    if twice:
        raise CaptureFormatError(f"{path}: line 2: column ch{twice[0]} appears twice")
    return channels
