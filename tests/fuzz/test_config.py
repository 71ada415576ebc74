"""Fuzz: generated config files load into a Config of finite numbers, or give a clean error.

A clean error is a ConfigError on one line that starts with the file's name; anything else
(a traceback, a NaN or an infinity in the Config) fails. Settings come from the table with
values of every TOML type, near their bounds or far from them; channels likewise; and whole
files: nested deeply, cut, or with bytes changed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from corcypower import settings as config_settings
from corcypower.errors import ConfigError
from tests.helpers import REPO

SPECIAL_NUMBERS = [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 2**63, -(2**63), 10**30]
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(SPECIAL_NUMBERS),
)
SCALARS = st.one_of(NUMBERS, st.booleans(), st.text(max_size=20))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=2)
    ),
    max_leaves=4,
)
DEFAULT = None  # a generated value that stands for the setting's default (valid)
DEFAULTS = {s.name: s.default for s in config_settings.SETTINGS}

# Settings of the table, and unknown keys (sections among them); a value is often the
# default, so that validation goes on past it, to the channels and the checks across keys.
SETTING_VALUES = st.dictionaries(
    st.one_of(st.sampled_from(list(DEFAULTS)), st.text(max_size=12)),
    st.one_of(st.none(), VALUES),
    max_size=6,
)
CHANNEL = st.fixed_dictionaries(
    {
        "name": st.one_of(st.sampled_from(["main", "mains_v", "solar"]), st.text(max_size=10)),
        "adc_channel": st.one_of(st.integers(-1, 8), NUMBERS),
        "kind": st.one_of(st.sampled_from(["voltage", "current"]), SCALARS),
        "scale": st.one_of(st.floats(1e-7, 200.0), NUMBERS),
    },
    optional={
        "voltage": st.one_of(
            st.sampled_from(["mains_v", "http://peer:8070/api/v1/state#mains_v", 230.0]), VALUES
        ),
        "phase_deg": NUMBERS,
        "cs": st.one_of(st.integers(-1, 2), NUMBERS),
        "invert": st.one_of(st.booleans(), SCALARS),
        "gain": VALUES,
    },
)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return {math.inf: "inf", -math.inf: "-inf"}.get(value, repr(value))
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string, escapes included
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(values: dict, channels: list[dict]) -> str:
    sections: dict[str, list[str]] = {}
    for name, value in values.items():
        if value is DEFAULT:
            value = DEFAULTS.get(name)
            if value is None:  # no default to write (or an unknown key): leave it out
                continue
        section, _, key = name.rpartition(".")
        sections.setdefault(section, []).append(f"{json.dumps(key)} = {toml_value(value)}")
    text = "".join(f"{line}\n" for line in sections.pop("", []))  # top-level keys come first
    for section, lines in sections.items():
        header = ".".join(json.dumps(part) for part in section.split("."))
        text += f"[{header}]\n" + "\n".join(lines) + "\n\n"
    for channel in channels:
        text += "[[channels]]\n"
        text += "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in channel.items())
    return text


def load_cleanly(path: Path, text: str | bytes) -> None:
    """The property: a Config of finite numbers, or a one-line ConfigError naming the file."""
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    try:
        config = config_settings.load(path)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: "), message
        assert "\n" not in message and len(message) < 2000, message
        return
    for name, value in config.values.items():
        assert not isinstance(value, float) or math.isfinite(value), (name, value)
    for ch in config.channels:
        for value in (ch.scale, ch.phase_deg, ch.voltage):
            assert not isinstance(value, float) or math.isfinite(value), ch


FILE = "fuzz.toml"
fuzz = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@fuzz
@given(values=SETTING_VALUES, channels=st.lists(CHANNEL, max_size=4))
@example(values={"store.commit_seconds": math.nan}, channels=[])
@example(values={"api.ring_seconds": math.inf}, channels=[])
def test_generated_settings_load_or_fail_cleanly(tmp_path, values, channels):
    load_cleanly(tmp_path / FILE, toml_document(values, channels))


@fuzz
@given(depth=st.integers(1, 6000), kind=st.sampled_from(["[", "{a = "]))
def test_nesting_of_any_depth_loads_or_fails_cleanly(tmp_path, depth, kind):
    close = "]" if kind == "[" else "}"
    inner = "1" if kind == "{a = " else ""
    load_cleanly(tmp_path / FILE, f"[adc]\nchip = {kind * depth}{inner}{close * depth}\n")


EXAMPLE = (REPO / "examples" / "emulator.toml").read_bytes()


@fuzz
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(EXAMPLE)), st.integers(0, 8), st.binary(max_size=8)),
        min_size=1,
        max_size=6,
    )
)
def test_a_real_config_with_bytes_changed_loads_or_fails_cleanly(tmp_path, edits):
    data = EXAMPLE
    for at, cut, insert in edits:
        data = data[:at] + insert + data[at + cut :]
    load_cleanly(tmp_path / FILE, data)


@fuzz
@given(text=st.text(max_size=300))
def test_any_text_loads_or_fails_cleanly(tmp_path, text):
    load_cleanly(tmp_path / FILE, text)


@fuzz
@given(
    value=st.one_of(
        NUMBERS,
        st.floats(-10.0, 7000.0),
        st.sampled_from([0, 0.0, -0.0, 1, 6300, True, "63", "", [63]]),
        st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=8),
        st.lists(NUMBERS, max_size=2),
    )
)
@example(value=5e-324)  # a share of it would overflow to infinity
@example(value=6300.000001)
def test_the_main_fuse_rating_is_0_or_amps_in_range_or_a_one_line_error(tmp_path, value):
    path = tmp_path / FILE
    path.write_text(f"[mains]\nfuse_amps = {toml_value(value)}\n")
    try:
        amps = config_settings.load(path)["mains.fuse_amps"]
    except ConfigError as exc:
        shown = f"{path}: [mains] fuse_amps = {config_settings.checks.show(value)}: "
        assert str(exc) == shown + "expected 0 (not set) or amps from 1 to 6300"
        return
    assert amps == 0 or 1 <= amps <= 6300
    assert isinstance(amps, float) and amps == value
