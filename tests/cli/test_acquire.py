"""The acquisition commands through click's CliRunner: capture, analyze, status, settings."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import numpy as np
import pytest
from click.testing import CliRunner

from corcypower import capture as capture_file
from corcypower import settings
from corcypower.cli import cli
from corcypower.clock import FakeClock
from corcypower.daemon import Daemon
from tests.helpers import REPO


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_capture_writes_the_capture_format(emulated_config, tmp_path):
    config = emulated_config()
    out = tmp_path / "cap.csv"
    result = invoke("capture", "--config", config, "--seconds", 0.2, "--out", out)
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("# corcypower capture chip=mcp3208 frame_us=250.")
    assert lines[1] == "t,ch1,ch0"  # scan order: mains_v (ADC 1), then main (ADC 0)
    cap = capture_file.read(out)
    assert cap.duration >= 0.2 and len(cap.t) >= 400
    steps = np.diff(cap.t)
    assert np.median(steps) == pytest.approx(
        2 * cap.frame_us * 1e-6, rel=1e-3
    )  # a scan = two frames
    assert (
        np.sum(steps > 2.5 * cap.frame_us * 1e-6) <= len(cap.t) // 255
    )  # gaps only between ioctls


def test_analyze_a_capture_of_the_emulator(emulated_config, tmp_path):
    config = emulated_config()
    out = tmp_path / "cap.csv"
    invoke("capture", "--config", config, "--seconds", 0.5, "--out", out)
    result = invoke("analyze", out, "--config", config, "--json")
    assert result.exit_code == 0, result.output
    volts, main = json.loads(result.output)["channels"]
    assert set(volts) == {
        "name",
        "kind",
        "n",
        "mean",
        "min",
        "max",
        "rms",
        "vrms",
        "frequency_hz",
        "flags",
    }
    assert set(main) == {
        "name",
        "kind",
        "n",
        "mean",
        "min",
        "max",
        "rms",
        "irms",
        "real_power_w",
        "apparent_power_va",
        "power_factor",
        "flags",
    }
    assert volts["vrms"] == pytest.approx(230, rel=0.005)
    assert volts["frequency_hz"] == pytest.approx(50, abs=0.05)
    assert main["apparent_power_va"] >= abs(main["real_power_w"])


def analytic_capture(path, hz=49.8, volts=230.0, amps=5.0, lag_deg=60.0, seconds=1.0):
    """A capture written by hand: v on ch1, i on ch0, one frame apart, 12-bit."""
    frame_us = 250.0
    t = np.arange(0, seconds, 2 * frame_us * 1e-6)
    tv, ti = t, t + frame_us * 1e-6
    v = 2048 + volts * np.sqrt(2) * np.sin(2 * np.pi * hz * tv) / 0.25
    i = 2048 + amps * np.sqrt(2) * np.sin(2 * np.pi * hz * ti - np.radians(lag_deg)) / 0.02
    with open(path, "w") as f:
        writer = capture_file.CaptureWriter(f, "mcp3208", frame_us, [1, 0])
        writer.write(t, np.floor(np.column_stack([v, i])).astype(int))


def test_analyze_agrees_with_the_analytic_answer(emulated_config, tmp_path):
    path = tmp_path / "sine.csv"
    analytic_capture(path)
    result = invoke("analyze", path, "--config", emulated_config(), "--json")
    volts, main = json.loads(result.output)["channels"]
    assert volts["frequency_hz"] == pytest.approx(49.8, abs=1e-3)
    assert volts["vrms"] == pytest.approx(230, rel=1e-3)
    assert main["irms"] == pytest.approx(5, rel=2e-3)
    assert main["real_power_w"] == pytest.approx(230 * 5 * 0.5, rel=3e-3)
    assert main["power_factor"] == pytest.approx(0.5, abs=2e-3)
    table = invoke("analyze", path, "--config", emulated_config())
    assert "230.0" in table.output and " V " in table.output and "PF 0.50" in table.output


def test_analyze_names_a_missing_column(emulated_config, tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("# corcypower capture chip=mcp3208 frame_us=250\nt,ch1\n0,2048\n0.0005,2050\n")
    result = CliRunner().invoke(cli, ["analyze", str(path), "--config", str(emulated_config())])
    assert result.exit_code == 1
    assert f"Error: {path}: no column ch0 for channel 'main'" in result.output
    assert "Traceback" not in result.output


def test_status_shows_the_latest_batch_with_units_in_local_time(emulated_config):
    config = settings.load(emulated_config())
    daemon = Daemon(config, FakeClock())
    daemon.open_store()
    while daemon.batches < 3:
        for raw in daemon.acquisition.read_once():
            daemon.process(raw)
    daemon.writer.flush()
    result = invoke("status", "--config", config.source)
    assert result.exit_code == 0, result.output
    head, volts, main = result.output.splitlines()
    local_day = datetime.fromtimestamp(daemon.last_ts / 1000).astimezone().strftime("%Y-%m-%d")
    assert f"latest batch {local_day} " in head
    assert (
        volts.startswith("mains_v") and " V " in volts and " Hz " in volts and "ADC mean" in volts
    )
    assert (
        main.startswith("main ")
        and " A " in main
        and " W " in main
        and " VA " in main
        and "PF " in main
    )


def test_status_marks_a_channel_that_stopped_reporting(emulated_config, tmp_path):
    config = settings.load(emulated_config())
    store = [config]
    volts_only = tmp_path / "volts.toml"  # the CT taken out of the config
    text = config.source.read_text()
    volts_only.write_text(text[: text.index('[[channels]]\nname = "main"')])
    store.append(settings.load(volts_only))
    for minutes, cfg in enumerate(store):  # the volts-only run comes a minute later
        daemon = Daemon(cfg, FakeClock(wall_ms=FakeClock().wall_ms() + 60_000 * minutes))
        daemon.open_store()
        while daemon.batches < 2:
            for raw in daemon.acquisition.read_once():
                daemon.process(raw)
        daemon.writer.flush()
        daemon.close_store()
    lines = invoke("status", "--config", volts_only).output.splitlines()
    assert lines[1].startswith("mains_v ") and lines[2].startswith("main* ")


def test_status_without_a_database_says_so(emulated_config):
    result = CliRunner().invoke(cli, ["status", "--config", str(emulated_config())])
    assert result.exit_code == 1 and "no such database (has the daemon run yet?)" in result.output


def test_a_bad_config_is_one_line_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[adc]\nchip = "mcp3009"\n')
    result = CliRunner().invoke(cli, ["status", "--config", str(bad)])
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == f'Error: {bad}: [adc] chip = "mcp3009": expected one of "mcp3008", "mcp3208", "emulated"'
    )


def test_settings_prints_the_reference():
    assert invoke("settings").output == settings.markdown()


def test_tools_py_is_the_same_command_line(emulated_config):
    out = subprocess.run(
        [sys.executable, str(REPO / "tools.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage: tools.py" in out.stdout
    for command in ("run", "capture", "analyze", "status", "settings"):
        assert command in out.stdout


def test_analyze_batches_is_the_daemons_cut(emulated_config, tmp_path):
    # 2 s of capture, batch_seconds 0.5: four batches, each starting where the one before
    # ended, on whole cycles but for the last, which ends where the capture does (its power
    # is the mean over its part-cycle too: the ripple of v·i moves it by up to S/(2ωT))
    path = tmp_path / "sine.csv"
    analytic_capture(path, seconds=2.0)
    result = invoke("analyze", path, "--config", emulated_config(), "--json", "--batches")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    batches = out["batches"]
    assert len(batches) == 4 and batches[0]["start_s"] == 0.0
    for a, b in zip(batches, batches[1:], strict=False):
        assert b["start_s"] == pytest.approx(a["start_s"] + a["duration_s"], abs=1e-12)
    assert sum(b["duration_s"] for b in batches) == pytest.approx(2.0, abs=1e-3)
    for k, b in enumerate(batches):
        volts, main = b["channels"]
        assert set(main) == set(out["channels"][1]) and main["flags"] == []
        assert main["real_power_w"] == pytest.approx(575.0, rel=3e-3 if k < 3 else 1e-2)
    table = invoke("analyze", path, "--config", emulated_config(), "--batches").output
    assert "start s" in table and "mains_v" in table and table.count(" W") >= 4


def test_analyze_takes_the_chip_from_the_capture(tmp_path):
    # an MCP3208 capture with the defaults (an MCP3008 CT at 0.27 A per count): 16 times the
    # current once, silently; now the scale is converted, and the difference named
    path = tmp_path / "house.csv"
    frame_us = 500.0
    t = np.arange(0, 1.0, frame_us * 1e-6)
    i = 2048 + 10.0 * np.sqrt(2) * np.sin(2 * np.pi * 50 * t) / (0.27 / 4)
    with open(path, "w") as f:
        capture_file.CaptureWriter(f, "mcp3208", frame_us, [0]).write(t, np.floor(i)[:, None])
    result = CliRunner().invoke(
        cli, ["analyze", str(path), "--json"], env={"CORCYPOWER_CONFIG": ""}
    )
    assert result.exit_code == 0, result.output
    assert (
        f"warning: {path} was recorded from an mcp3208 but <settings> says mcp3008: analysing "
        "it as an mcp3208, every scale × 0.25"
    ) in result.output
    [main] = json.loads(result.output[result.output.index("{") :])["channels"]
    assert main["irms"] == pytest.approx(10.0, rel=2e-3)
    assert main["real_power_w"] == pytest.approx(2370.0, rel=2e-3)


def test_analyze_flags_a_hole_late_and_a_remote_voltage_nominal(tmp_path):
    path = tmp_path / "holed.csv"
    frame_us = 500.0
    t = np.arange(0, 2.0, frame_us * 1e-6)
    t = t[(t < 0.7) | (t >= 0.75)]  # 50 ms lost
    i = 2048 + 5.0 * np.sqrt(2) * np.sin(2 * np.pi * 50 * t) / 0.02
    with open(path, "w") as f:
        capture_file.CaptureWriter(f, "mcp3208", frame_us, [0]).write(t, np.floor(i)[:, None])
    config = tmp_path / "c.toml"
    config.write_text(
        '[adc]\nchip = "mcp3208"\n[[channels]]\nname = "main"\nadc_channel = 0\n'
        'kind = "current"\nscale = 0.02\nvoltage = "http://house-pi:8070/api/v1/state#mains_v"\n'
    )
    out = json.loads(invoke("analyze", path, "--config", config, "--json", "--batches").output)
    flags = [b["channels"][0]["flags"] for b in out["batches"]]
    assert flags[1] == ["late", "nominal-voltage"]  # the batch that ends at the hole
    assert all("nominal-voltage" in f for f in flags)
    assert out["channels"][0]["flags"] == ["late", "nominal-voltage"]
    assert out["channels"][0]["real_power_w"] == pytest.approx(230.0 * 5.0, rel=2e-3)
