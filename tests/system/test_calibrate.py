"""`corcypower calibrate` against analytic waves on the emulated chip, and its config writing.

The pins carry known waves (tests/analysis_signals.py) read through the real transport and
acquisition, so the right scale and phase are known in closed form.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

from corcypower import calibrate as cal
from corcypower import settings
from corcypower.cli import cli
from corcypower.errors import ConfigError
from corcypower.probe import Probe
from tests.analysis_signals import Wave, acquire, lsb_bound, pin_volts, power_bound
from tests.helpers import REPO

V_TRUE, I_TRUE = 0.25, 0.02  # volts and amps per count of the wiring
BIAS = 2048


def config(v_scale=V_TRUE, i_scale=0.025, phase_deg=0.0, voltage="mains_v") -> dict:
    return {
        "adc": {"chip": "emulated"},
        "emulator": {"chip": "mcp3208"},
        "channels": [
            {"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": v_scale},
            {
                "name": "main",
                "adc_channel": 0,
                "kind": "current",
                "scale": i_scale,
                "voltage": voltage,
                "phase_deg": phase_deg,
            },
        ],
    }


def measure(cfg: dict, v: Wave, i: Wave, batches: int = 6):
    """Batches of the real chain with `v` and the CT's output `i` on the pins."""
    pins = pin_volts({1: (v, V_TRUE, BIAS), 0: (i, I_TRUE, BIAS)}, bits=12)
    return acquire(cfg, {0: pins}, batches)


MAINS = Wave(230.0, 50.0)


def test_scale_from_amps():
    cfg, batches = measure(config(), MAINS, Wave(5.0, 50.0))
    main = cfg.channel("main")
    proposal, notes = cal.propose_scale(main, cal.stats_of(cfg, main, batches), 5.0, "A")
    assert proposal.key == "scale" and proposal.old == 0.025 and not notes
    assert proposal.new == pytest.approx(I_TRUE, rel=lsb_bound(5.0 / I_TRUE))
    assert "reference 5 A: scale 0.025 → 0.02" in proposal.explain and "(-20.0" in proposal.explain


def test_scale_from_volts():
    cfg, batches = measure(config(v_scale=0.3), MAINS, Wave(5.0, 50.0))
    volts = cfg.channel("mains_v")
    proposal, _ = cal.propose_scale(volts, cal.stats_of(cfg, volts, batches), 230.0, "V")
    assert proposal.new == pytest.approx(V_TRUE, rel=lsb_bound(230.0 / V_TRUE))


def test_scale_from_watts_with_the_voltage_channel_right():
    cfg, batches = measure(config(), MAINS, Wave(5.0, 50.0, phase_deg=-30.0))  # PF 0.866
    main = cfg.channel("main")
    watts = 230.0 * 5.0 * 0.8660254
    proposal, _ = cal.propose_scale(main, cal.stats_of(cfg, main, batches), watts, "W")
    assert proposal.new == pytest.approx(I_TRUE, rel=power_bound(230 / V_TRUE, 5 / I_TRUE) / 0.866)


def test_negative_watts_mean_a_ct_clamped_backwards():
    cfg, batches = measure(config(), MAINS, Wave(5.0, 50.0, phase_deg=180.0))
    main = cfg.channel("main")
    proposal, notes = cal.propose_scale(main, cal.stats_of(cfg, main, batches), 1150.0, "W")
    assert proposal.new == pytest.approx(I_TRUE, rel=5e-3)
    assert any("invert = true" in n for n in notes)


@pytest.mark.parametrize("lead", [3.0, -2.0, 0.0])
def test_phase_from_a_resistive_load(lead):
    cfg, batches = measure(config(i_scale=I_TRUE), MAINS, Wave(5.0, 50.0, phase_deg=lead))
    main = cfg.channel("main")
    proposal = cal.estimate_phase(cfg, main, batches)
    assert proposal.key == "phase_deg" and proposal.new == pytest.approx(lead, abs=0.05)
    fixed = cal.stats_of(cfg, main, batches, phase_deg=proposal.new)
    assert all(s.power_factor == pytest.approx(1.0, abs=1e-4) for s in fixed)
    assert "makes it 1.0000" in proposal.explain


def test_phase_with_harmonics_a_resistor_draws_too():
    # a resistor's current has the voltage's shape: every harmonic h also leads by h·lead
    v = Wave(230.0, 50.0, harmonics=((3, 6.0, 10.0), (5, 4.0, -20.0)))
    i = Wave(5.0, 50.0, harmonics=((3, 5 * 6 / 230, 10.0), (5, 5 * 4 / 230, -20.0))).shifted(4.0)
    cfg, batches = measure(config(i_scale=I_TRUE), v, i)
    assert cal.estimate_phase(cfg, cfg.channel("main"), batches).new == pytest.approx(4.0, abs=0.1)


def test_phase_refuses_what_is_not_a_resistive_load():
    cfg, batches = measure(config(i_scale=I_TRUE), MAINS, Wave(5.0, 50.0, phase_deg=-60.0))
    with pytest.raises(cal.CalibrationError, match="not a purely resistive load"):
        cal.estimate_phase(cfg, cfg.channel("main"), batches)
    cfg, batches = measure(config(i_scale=I_TRUE), MAINS, Wave(5.0, 50.0, phase_deg=178.0))
    with pytest.raises(cal.CalibrationError, match="clamped the other way round"):
        cal.estimate_phase(cfg, cfg.channel("main"), batches)


def test_phase_needs_a_voltage_channel():
    cfg, batches = measure(config(voltage=230.0), MAINS, Wave(5.0, 50.0))
    with pytest.raises(cal.CalibrationError, match="fixed voltage"):
        cal.estimate_phase(cfg, cfg.channel("main"), batches)
    with pytest.raises(cal.CalibrationError, match="voltage channel; name its CT"):
        cal.estimate_phase(cfg, cfg.channel("mains_v"), batches)


def test_power_needs_a_live_voltage():
    # the AC adapter unplugged: the analysis leaves power unknown, so W and phase are refused
    cfg, batches = measure(config(i_scale=I_TRUE), None, Wave(5.0, 50.0))
    main = cfg.channel("main")
    stats = cal.stats_of(cfg, main, batches)
    with pytest.raises(cal.CalibrationError, match="mains_v shows no mains cycles.*AC adapter"):
        cal.estimate_phase(cfg, main, batches)
    with pytest.raises(cal.CalibrationError, match="AC adapter"):
        cal.propose_scale(main, stats, 1150.0, "W")
    assert cal.propose_scale(main, stats, 5.0, "A")[0].new == pytest.approx(I_TRUE, rel=1e-3)


def test_a_clipping_or_silent_channel_is_refused():
    cfg, batches = measure(config(), MAINS, Wave(60.0, 50.0))  # ±85 A peak: past the rails
    main = cfg.channel("main")
    with pytest.raises(cal.CalibrationError, match="clips at the ADC's rails.*burden"):
        cal.propose_scale(main, cal.stats_of(cfg, main, batches), 60.0, "A")
    cfg, batches = measure(config(), MAINS, Wave(0.01, 50.0))  # half a count: noise
    with pytest.raises(cal.CalibrationError, match="too small to calibrate: switch on a larger"):
        cal.propose_scale(main, cal.stats_of(cfg, main, batches), 0.01, "A")


def test_units_must_fit_the_channel():
    cfg, batches = measure(config(), MAINS, Wave(5.0, 50.0))
    with pytest.raises(cal.CalibrationError, match="voltage channel: give the reference in V"):
        cal.propose_scale(cfg.channel("mains_v"), [], 1.0, "W")
    with pytest.raises(cal.CalibrationError, match="current channel: give the reference in A"):
        cal.propose_scale(cfg.channel("main"), [], 1.0, "V")
    with pytest.raises(cal.CalibrationError, match="expected a meter's reading above 0"):
        cal.propose_scale(cfg.channel("main"), [], 0.0, "A")
    with pytest.raises(ConfigError, match="no channel named 'mian'.*mains_v, main"):
        cfg.channel("mian")
    assert cal.default_unit(cfg.channel("main")) == "A"
    assert cal.default_unit(cfg.channel("mains_v")) == "V"


@pytest.mark.parametrize(
    "reference, unit, expected",
    [
        (math.inf, "A", "--reference inf: expected a meter's reading above 0 and at most 10000 A"),
        (math.nan, "A", "--reference nan: expected a meter's reading above 0"),
        (-5.0, "A", "--reference -5: expected a meter's reading above 0"),
        (1e308, "A", "at most 10000 A (the largest CT clamps measure a few thousand amps)"),
        (1e308, "W", "at most 1e+07 W (1000 V times 10000 A)"),
        (5000.0, "V", "at most 1000 V (mains measured through an AC-AC adapter is low voltage"),
    ],
)
def test_an_implausible_reference_is_refused_with_the_reason(reference, unit, expected):
    """Before: --reference inf wrote scale = inf, and 1e308 wrote 6.4e306."""
    cfg, batches = measure(config(), MAINS, Wave(5.0, 50.0))
    ch = cfg.channel("mains_v" if unit == "V" else "main")
    with pytest.raises(cal.CalibrationError) as info:
        cal.propose_scale(ch, cal.stats_of(cfg, ch, batches), reference, unit)
    assert expected in str(info.value)


def test_a_scale_no_real_sensor_has_is_refused_and_a_large_change_noted():
    cfg, batches = measure(config(), MAINS, Wave(5.0, 50.0))
    main = cfg.channel("main")
    stats = cal.stats_of(cfg, main, batches)
    with pytest.raises(cal.CalibrationError) as info:
        cal.propose_scale(main, stats, 1e-5, "A")  # 5 A read as 10 µA: 4e-8 A per count
    assert re.fullmatch(
        r"main: 1e-05 A against the 6\.2\d* A measured gives scale = 3\.9\d*e-08, outside the "
        r"1e-06 to 100 A per count a real sensor has: check that the reference is in A \(not mA "
        r"or kA\) and measures this channel's wire; nothing written",
        str(info.value),
    )
    proposal, notes = cal.propose_scale(main, stats, 500.0, "A")  # 100 times the 5 A it carries
    assert proposal.new == pytest.approx(100 * I_TRUE, rel=0.01)
    assert notes == [
        "the new scale is 80 times the old one: make sure the reference is in A (not mA or kA)"
        " and measures this channel's wire"
    ]


def test_the_command_refuses_an_infinite_reference_and_writes_nothing(emulated_config):
    path = emulated_config()
    before = path.read_text()
    for reference in ("inf", "1e308", "nan"):
        result = invoke("main", "--reference", reference, "--seconds", 1, "--config", path, "-y")
        assert result.exit_code == 1, result.output
        assert f"--reference {reference.replace('1e308', '1e+308')}: expected" in result.output
        assert "Traceback" not in result.output
    assert path.read_text() == before


# --- writing the config --------------------------------------------------------------------


@pytest.fixture
def energymonitor(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text((REPO / "examples/energymonitor.toml").read_text())
    path.chmod(0o640)
    return path


def test_writing_keeps_comments_and_layout(energymonitor):
    before = energymonitor.read_text()
    cal.write_config(energymonitor, "grid", {"scale": 0.02512, "phase_deg": 2.25})
    after = energymonitor.read_text()
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert [b for _, b in changed] == [
        "scale = 0.02512          # amps per count (100 A : 50 mA CT, 33 ohm burden)",
        "phase_deg = 2.25         # CT phase lead, from `corcypower calibrate grid --phase`",
    ]
    loaded = settings.load(energymonitor)
    assert loaded.channel("grid").scale == 0.02512 and loaded.channel("grid").phase_deg == 2.25
    assert loaded.channel("solar").scale == 0.0244  # the other tables are untouched
    assert stat.S_IMODE(energymonitor.stat().st_mode) == 0o640


def test_a_missing_key_is_added_to_its_own_table(energymonitor):
    cal.write_config(energymonitor, "solar", {"phase_deg": -1.5})
    data = tomllib.loads(energymonitor.read_text())
    assert [c.get("phase_deg") for c in data["channels"]] == [None, 1.5, -1.5]
    assert "invert = true           # clamped the other way round" in energymonitor.read_text()


def test_a_value_the_settings_refuse_is_not_written(energymonitor):
    before = energymonitor.read_text()
    with pytest.raises(ConfigError, match=r"phase_deg = 60\.0.*from -45\.0 to 45\.0"):
        cal.write_config(energymonitor, "grid", {"phase_deg": 60.0})
    assert energymonitor.read_text() == before
    assert not [p for p in energymonitor.parent.iterdir() if p.name.startswith(".config")]


def test_inline_channel_tables_work_too(tmp_path):
    path = tmp_path / "inline.toml"
    path.write_text(
        '# mine\nchannels = [\n  { name = "main", adc_channel = 0, kind = "current", scale = 0.3 },\n]\n'
    )
    cal.write_config(path, "main", {"scale": 0.29})
    assert path.read_text().startswith("# mine\n") and settings.load(path).channels[0].scale == 0.29


# --- the command ------------------------------------------------------------------------------


def invoke(*args, input=None):
    return CliRunner().invoke(cli, ["calibrate", *map(str, args)], input=input)


def test_the_command_measures_proposes_and_writes_on_confirmation(emulated_config):
    path = emulated_config()
    before = path.read_text()
    result = invoke("main", "--reference", 1.0, "--seconds", 1, "--config", path, input="n\n")
    assert result.exit_code == 0, result.output
    assert "measuring main (current, ADC channel 0) for 1 s" in result.output
    assert "scale 0.02 → " in result.output and "nothing written" in result.output
    assert path.read_text() == before
    result = invoke("main", "--reference", 1.0, "--seconds", 1, "--config", path, input="y\n")
    assert result.exit_code == 0, result.output
    assert "wrote scale = " in result.output and "sudo systemctl restart mcpd" in result.output
    assert settings.load(path).channel("main").scale != 0.02


def test_the_command_says_what_is_missing(emulated_config):
    result = invoke("main", "--config", emulated_config())
    assert result.exit_code == 2 and "give --reference VALUE" in result.output
    result = invoke("nope", "--reference", 1, "--config", emulated_config())
    assert result.exit_code == 1 and "no channel named 'nope'" in result.output
    assert "Traceback" not in result.output


def test_a_running_daemon_holding_the_chip_is_detected(tmp_path):
    real = settings.from_dict({**config(), "adc": {"chip": "mcp3208"}, "api": {"port": 1}})
    active = Probe(run=lambda argv: (0, "active\n"))
    assert cal.chip_in_use(real, active) == "the mcpd service is running"
    stopped = Probe(run=lambda argv: (3, "inactive\n"), get=lambda url, t: (200, b"{}"))
    assert cal.chip_in_use(real, stopped).startswith("a daemon answers at http://127.0.0.1:1/")

    def refused(url, timeout):
        raise ConnectionRefusedError(111, "refused")

    assert cal.chip_in_use(real, Probe(run=lambda argv: (3, ""), get=refused)) is None
    emulated = settings.from_dict(config())
    assert cal.chip_in_use(emulated, active) is None  # each process has its own emulated chip


def test_config_files_keep_their_owner(energymonitor):
    st = energymonitor.stat()
    cal.write_config(energymonitor, "grid", {"scale": 0.03})
    after = energymonitor.stat()
    assert (after.st_uid, after.st_gid) == (st.st_uid, st.st_gid)
    if os.geteuid() == 0:  # root (sudo corcypower calibrate) hands the file back to its owner
        os.chown(energymonitor, 1234, 5678)
        cal.write_config(energymonitor, "grid", {"scale": 0.031})
        assert (energymonitor.stat().st_uid, energymonitor.stat().st_gid) == (1234, 5678)


@pytest.mark.parametrize("command", ["calibrate", "doctor"])
def test_every_option_is_documented(command):
    docs = (REPO / "docs/pi.md").read_text()
    assert f"corcypower {command}" in (REPO / "README.md").read_text()
    for param in cli.commands[command].params:
        for opt in param.opts:
            if opt.startswith("--") and opt != "--config":
                assert f"`{opt}" in docs, f"{command} {opt} is not in docs/pi.md"


# --- noise ------------------------------------------------------------------------------------


def test_noise_is_measured_with_nothing_on_the_input():
    # a CT on a circuit drawing nothing, with 1.5 counts of noise on its input (and the
    # chip's truncation, 1/12 count²): noise_counts is their RMS
    rng = np.random.default_rng(1)
    quiet = pin_volts({1: (MAINS, V_TRUE, BIAS), 0: (None, I_TRUE, BIAS)}, bits=12)

    def pins(channels, times):
        noise = np.where(channels == 0, 1.5 * rng.standard_normal(len(times)), 0.0)
        return quiet(channels, times) + noise * 3.3 / 4096

    cfg, batches = acquire(config(), {0: pins}, 6)
    proposal = cal.measure_noise(cfg, cfg.channel("main"), batches)
    assert proposal.key == "noise_counts"
    assert proposal.new == pytest.approx(np.sqrt(1.5**2 + 1 / 12), rel=0.08)
    assert "noise" in proposal.explain and "counts RMS" in proposal.explain


def test_noise_is_refused_while_something_draws_current():
    cfg, batches = measure(config(), MAINS, Wave(2.0, 50.0))
    with pytest.raises(cal.CalibrationError, match="above its noise.*switch off what the circuit"):
        cal.measure_noise(cfg, cfg.channel("main"), batches)


def test_the_command_writes_noise_counts(emulated_config):
    # the emulated household's "none" circuit: a CT on nothing, with the board's half LSB
    path = emulated_config({"emulator": 'circuits = { main = "none" }'})
    result = invoke("main", "--noise", "--seconds", 1, "--yes", "--config", path)
    assert result.exit_code == 0, result.output
    noise = settings.load(path).channel("main").noise_counts
    assert noise == pytest.approx(np.sqrt(0.25 + 1 / 12), rel=0.15)
