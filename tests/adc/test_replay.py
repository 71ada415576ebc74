"""A capture replayed through the emulated chip gives its counts back, exactly, looped, and
the waveform between its samples."""

from __future__ import annotations

import numpy as np
import pytest

from corcypower import capture, settings
from corcypower.adc.emulated import VREF, EmulatedChip
from corcypower.adc.mcp3xxx import MODELS
from corcypower.adc.replay import Replay, sample_delay

FRAME_S = 100e-6  # 24 clocks at 1 MHz + 76 µs


def recorded(chip: str, channels: list[int], scans: int, seed: int = 0) -> capture.Capture:
    """A capture as `corcypower capture` would write it: scans every len(channels) frames."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, MODELS[chip].max_count + 1, size=(scans, len(channels)))
    counts[:, 0] = MODELS[chip].max_count  # the rails too
    counts[::2, -1] = 0
    t = np.arange(scans) * len(channels) * FRAME_S
    return capture.Capture(chip, FRAME_S * 1e6, channels, t, counts)


def replay_rig(rig, clock, cap: capture.Capture, chip: str):
    delay = sample_delay(MODELS[chip], 1_000_000)  # the rig's SPI clock
    return rig(MODELS[chip].bits, Replay(cap, VREF, start=clock.now, delay=delay), frame_s=FRAME_S)


def read_scans(r, model, channels: list[int], scans: int) -> np.ndarray:
    per_block = 500 // len(channels)
    out = []
    while sum(len(b) for b in out) < scans:
        tx = np.frombuffer(b"".join(model.frame(c) for c in channels) * per_block, np.uint8)
        rx = r.transport.read(tx.reshape(-1, 3)).rx
        out.append(model.decode(rx).reshape(-1, len(channels)))
    return np.concatenate(out)[:scans]


@pytest.mark.parametrize("chip", ["mcp3008", "mcp3208"])
def test_replay_reproduces_the_counts_at_the_capture_times(chip, rig, clock):
    cap = recorded(chip, [1, 0, 3], scans=600)
    r = replay_rig(rig, clock, cap, chip)
    got = read_scans(r, MODELS[chip], [1, 0, 3], 600)
    np.testing.assert_array_equal(got, cap.counts)


@pytest.mark.parametrize("chip", ["mcp3008", "mcp3208"])
def test_replay_loops(chip, rig, clock):
    cap = recorded(chip, [2, 5], scans=250, seed=1)
    r = replay_rig(rig, clock, cap, chip)
    got = read_scans(r, MODELS[chip], [2, 5], 250 * 3 + 100)
    np.testing.assert_array_equal(got, np.concatenate([cap.counts] * 4)[: len(got)])


@pytest.mark.parametrize("chip, mid", [("mcp3008", 512), ("mcp3208", 2048)])
def test_channels_the_capture_lacks_read_mid_scale(chip, mid, rig, clock):
    cap = recorded(chip, [0, 1], scans=100)
    r = replay_rig(rig, clock, cap, chip)
    # the daemon reads a third channel the capture does not have, so its timing differs:
    # the captured channels are followed between their samples, the missing one is flat
    got = read_scans(r, MODELS[chip], [0, 1, 6], 50)
    assert set(got[:, 2].tolist()) == {mid}


def test_a_capture_file_replays_exactly(rig, clock, tmp_path):
    cap = recorded("mcp3208", [0, 1], scans=300, seed=2)
    path = tmp_path / "c.csv"
    with path.open("w") as f:
        capture.CaptureWriter(f, cap.chip, cap.frame_us, cap.channels).write(cap.t, cap.counts)
    r = replay_rig(rig, clock, capture.read(path), "mcp3208")
    np.testing.assert_array_equal(read_scans(r, MODELS["mcp3208"], [0, 1], 300), cap.counts)


def test_sample_delay_is_the_start_bit_and_five_and_a_half_clocks():
    # MCP3008: start bit at bit 7 of the frame, MCP3208: at bit 5 (mcp3xxx.py's tables)
    assert sample_delay(MODELS["mcp3008"], 1_000_000) == pytest.approx(12.5e-6)
    assert sample_delay(MODELS["mcp3208"], 2_000_000) == pytest.approx(5.25e-6)


def test_replay_gives_volts_in_the_middle_of_each_code():
    cap = recorded("mcp3008", [4], scans=10)
    replay = Replay(cap, VREF, start=50.0, delay=3e-6)
    t = 50.0 + cap.t + 3e-6  # when each conversion held its input
    volts = replay(np.full(10, 4), t)
    lsb = VREF / 1024
    np.testing.assert_allclose(volts / lsb, cap.counts[:, 0] + 0.5)


def test_a_10_bit_capture_on_a_12_bit_chip_keeps_its_voltages():
    cap = recorded("mcp3008", [0], scans=20)
    chip = EmulatedChip(12, Replay(cap, VREF, delay=5e-6))
    codes = chip.code(chip.inputs(np.zeros(20, dtype=int), cap.t + 5e-6))
    np.testing.assert_array_equal(codes, cap.counts[:, 0] * 4 + 2)


def test_replay_reads_a_file_written_by_hand(tmp_path):
    path = tmp_path / "hand.csv"
    path.write_text("# corcypower capture chip=mcp3008 frame_us=100.000\nt,ch0\n0,10\n0.0001,20\n")
    replay = Replay(capture.read(path), VREF, delay=1e-5)
    assert replay.period == pytest.approx(200e-6)
    chip = EmulatedChip(10, replay)
    t = np.array([0.0, 1e-4, 2e-4, 3e-4, 4e-4]) + 1e-5
    assert chip.code(replay(np.zeros(5, dtype=int), t)).tolist() == [10, 20, 10, 20, 10]


def test_between_its_samples_the_replay_follows_the_waveform():
    # A 50 Hz sine of 1500 counts captured at 2 kHz, read back 0.4 of a step after each
    # capture sample (as a daemon at its own timing would): within the capture's own
    # quantisation plus the interpolation's 7e-8 of the peak, where holding each value until
    # the next one would be off by up to the slope over 0.4 step: 0.4 · 2π·50/2000 · 1500.
    t = np.arange(400) / 2000
    wave = 2048 + 1500 * np.sin(2 * np.pi * 50 * t + 0.3)
    cap = capture.Capture("mcp3208", 500.0, [0], t, np.floor(wave).astype(np.int64)[:, None])
    replay = Replay(cap, VREF)
    later = t[10:-10] + 0.4 / 2000
    counts = replay(np.zeros(len(later), dtype=int), later) / (VREF / 4096) - 0.5
    truth = 2048 + 1500 * np.sin(2 * np.pi * 50 * later + 0.3)
    assert np.abs(counts - truth).max() <= 1.5  # floor's 1 count, plus a little
    hold = np.floor(wave)[10:-10]
    assert np.abs(hold - truth).max() > 0.4 * 2 * np.pi * 50 / 2000 * 1500 * 0.9


@pytest.mark.parametrize("rate_hz", [2000, 2500, 3100])
def test_a_capture_replayed_through_the_daemon_gives_what_analyze_does(tmp_path, rate_hz):
    # The daemon converts at its own times (another rate, another phase of the loop): each
    # of its batches' P is within 0.2 % of the capture's own batches (analyze --batches), on
    # a PF 0.5 load whose per-batch P a held replay moved by up to ±10 %.
    from corcypower.clock import FakeClock
    from corcypower.daemon import Daemon
    from corcypower.offline import analyze_capture
    from tests.analysis_signals import house_capture

    house_capture(tmp_path / "house.csv")
    path = tmp_path / "c.toml"
    path.write_text(
        f'[adc]\nchip = "emulated"\nsample_rate_hz = {rate_hz}\n'
        f'[emulator]\nsource = "{tmp_path / "house.csv"}"\n'
        f'[store]\npath = "{tmp_path / "power.db"}"\n'
        '[[channels]]\nname = "mains_v"\nadc_channel = 1\nkind = "voltage"\nscale = 0.25\n'
        '[[channels]]\nname = "main"\nadc_channel = 0\nkind = "current"\nscale = 0.02\n'
    )
    config = settings.load(path)
    assert config.chip_model == "mcp3208"
    analysed = analyze_capture(config, capture.read(tmp_path / "house.csv"), "house.csv")
    want = [s[1].real_power_w for b, s in analysed.batches if b.window.is_whole]
    assert max(want) / min(want) - 1 < 1e-3  # a steady load, batch after batch
    daemon = Daemon(config, FakeClock())
    daemon.open_store()
    got = []
    daemon.listeners.append(lambda ts, ms, stats: got.append(stats[1].real_power_w))
    while len(got) < 20:
        for raw in daemon.acquisition.read_once():
            daemon.process(raw)
    mean = sum(want) / len(want)
    assert all(abs(p / mean - 1) <= 2e-3 for p in got[1:])  # the first starts mid-cycle
