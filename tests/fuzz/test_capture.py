"""Fuzzing capture files: odd and bad ones give a clean error or a correct result.

Generated captures, mostly well-formed and then bent (frame_us anywhere from 1e-3 to 1e301,
t stalling, going back, jumping by a billion seconds, counts beyond the chip, a missing
column, garbage lines) and plain garbage, go through `capture.read` and `corcypower analyze
--json --batches`. Properties: a one-line error naming the file, exit code 1 or 2, or exit 0
with every number finite; never a traceback, never NaN or Infinity.
"""

from __future__ import annotations

import json
import math

import numpy as np
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from corcypower import capture
from corcypower.cli import cli
from corcypower.errors import CaptureFormatError

CHIPS = ("mcp3008", "mcp3208")
FULL = {"mcp3008": 1023, "mcp3208": 4095}


def mostly(good, *bad, odds: int = 6):
    """A strategy that draws from `good` `odds` times as often as from the bad ones."""
    return st.integers(0, odds).flatmap(lambda k: st.one_of(*bad) if k == 0 else good)


frame_us = mostly(
    st.sampled_from(["250.000", "166.667", "62.5", "500", "1", "100000"]),
    st.floats(min_value=1e-3, max_value=1e301, allow_nan=False).map(repr),
    st.sampled_from(["0", "-5", "nan", "inf", "1e999", "1e300", "abc", ""]),
)
# steps of t between scans: regular, jittered, a pause, stalled, backwards, huge jumps
steps = mostly(
    st.floats(min_value=4.9e-4, max_value=5.1e-4),
    st.sampled_from([0.003, 0.03, 0.05, 1.0, 0.0, -1e-3, 1e9, 1e12, 3e-300]),
    odds=12,
)
NONE = st.just(None)


@st.composite
def captures(draw) -> str:
    """The text of a capture file, well-formed more often than not."""
    chip = draw(mostly(st.sampled_from(CHIPS), st.just("mcp3004")))
    extra = draw(st.lists(st.integers(2, 7), max_size=2, unique=True))
    columns = draw(
        mostly(
            st.permutations([1, 0, *extra]),
            st.lists(st.integers(0, 7), min_size=1, max_size=4, unique=True),
        )
    )
    header = draw(
        mostly(
            st.just("t," + ",".join(f"ch{c}" for c in columns)),
            st.sampled_from(["t,ch9", "ch0,t", "t"]),
        )
    )
    n = draw(st.integers(0, 3000))
    dt = np.array(draw(st.lists(steps, min_size=1, max_size=6)))
    start = draw(mostly(st.just(0.0), st.sampled_from([12.5, -1.0, 1e11])))
    t = np.cumsum(np.concatenate([[start], np.resize(dt, max(n - 1, 0))]))[:n]
    full = FULL.get(chip, 1023)
    amplitude = draw(st.floats(0, full / 2))
    wave = full / 2 + amplitude * np.sin(2 * np.pi * 50 * t[:, None] + np.arange(len(columns)))
    noise = np.random.default_rng(draw(st.integers(0, 9))).normal(
        0, draw(st.floats(0, 3)), wave.shape
    )
    counts = np.clip(np.floor(wave + noise), 0, full).astype(int)
    bad_count = draw(mostly(NONE, st.sampled_from([-1, full + 1, 0, full])))
    if n and bad_count is not None:
        counts[draw(st.integers(0, n - 1)), 0] = bad_count
    rows = [
        ",".join([f"{x:.6f}"] + [str(c) for c in row]) for x, row in zip(t, counts, strict=True)
    ]
    bad_row = draw(
        mostly(
            NONE,
            st.sampled_from(["", "1,2", "nan,1", "0.1,inf", "x,y", "1e400,5", "0,1,2,3,4,5,6,7,8"]),
        )
    )
    if rows and bad_row is not None:
        rows[draw(st.integers(0, len(rows) - 1))] = bad_row
    first = f"# corcypower capture chip={chip} frame_us={draw(frame_us)}"
    return "\n".join([first, header, *rows]) + "\n"


CONFIGS = {
    "defaults": None,  # the original wiring: ch0, fixed 237 V
    "pair": '[adc]\nchip = "mcp3208"\n[[channels]]\nname = "v"\nadc_channel = 1\nkind = "voltage"\n'
    'scale = 0.25\n[[channels]]\nname = "i"\nadc_channel = 0\nkind = "current"\nscale = 0.02\n',
}


def finite(value) -> bool:
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, list):
        return all(finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


def no_constants(name):
    raise AssertionError(f"{name} in the JSON")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=captures(), which=st.sampled_from(sorted(CONFIGS)))
def test_a_capture_is_a_clean_error_or_a_finite_analysis(tmp_path, text, which):
    path = tmp_path / "fuzz.csv"
    path.write_text(text, encoding="utf-8")
    try:
        cap = capture.read(path)
    except CaptureFormatError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
        cap = None
    if cap is not None:
        assert np.all(np.isfinite(cap.t)) and np.all(np.diff(cap.t) > 0)
        assert 1 <= cap.frame_us <= 100_000 and cap.counts.min() >= 0
    args = ["analyze", str(path), "--json", "--batches"]
    env = {"CORCYPOWER_CONFIG": ""}
    if CONFIGS[which]:
        config = tmp_path / "c.toml"
        config.write_text(CONFIGS[which])
        args += ["--config", str(config)]
    result = CliRunner().invoke(cli, args, env=env)
    assert "Traceback" not in result.output
    event("analysed" if result.exit_code == 0 else result.output.split(": ")[2][:30])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code:
        assert result.exit_code in (1, 2) and result.output.startswith("Error: ")
        assert cap is None or "no column" in result.output
        return
    assert cap is not None
    out = json.loads(result.output[result.output.index("{") :], parse_constant=no_constants)
    assert finite(out)
    for batch in out["batches"]:
        assert batch["duration_s"] > 0
        for ch in batch["channels"]:
            assert ch["n"] >= 0 and (ch.get("power_factor") is None or abs(ch["power_factor"]) <= 1)


@given(st.binary(max_size=2000))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_garbage_is_a_clean_error(tmp_path, data):
    path = tmp_path / "garbage.csv"
    path.write_bytes(data)
    try:
        capture.read(path)
    except CaptureFormatError as exc:
        assert str(exc).startswith(f"{path}: ")
