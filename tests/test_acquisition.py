"""Acquisition: blocks from the (emulated) chips cut into chunks that tile time exactly."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from corcypower import settings
from corcypower.acquisition import LATE_GAP_S, Acquisition
from corcypower.adc.chips import open_transports
from corcypower.clock import FakeClock


def make(emulated_config):
    config = settings.load(emulated_config())
    clock = FakeClock()
    transports = open_transports(config, clock)
    return Acquisition(config, transports, clock), transports, clock


def collect(acq: Acquisition, count: int):
    out = []
    while len(out) < count:
        out += acq.read_once()
    return out


def test_batches_tile_time_with_no_gap_and_no_overlap(emulated_config):
    acq, _, _ = make(emulated_config)
    batches = collect(acq, 12)
    for a, b in zip(batches, batches[1:], strict=False):
        assert b.start == pytest.approx(a.end, abs=1e-12)
        assert b.end - b.start == pytest.approx(0.5, abs=1e-12)
        assert b.end_wall_ms - a.end_wall_ms == pytest.approx(500, abs=1)
    for batch in batches:
        for s in batch.samples.values():
            assert len(s.t) in (999, 1000, 1001)  # 2000 Hz for 0.5 s
            assert batch.start <= s.t[0] and s.t[-1] < batch.end
    assert not any(b.late for b in batches)
    assert batches[0].gap_before and not any(b.gap_before for b in batches[1:])


def test_every_sample_lands_in_exactly_one_batch(emulated_config):
    acq, _, _ = make(emulated_config)
    batches = collect(acq, 6)
    times = np.concatenate([b.samples["main"].t for b in batches])
    assert np.all(np.diff(times) > 0)
    # one scan of two channels every 1/2000 s: the current channel's samples are evenly spaced
    assert np.allclose(np.diff(times), np.diff(times).mean(), rtol=1e-6)


def test_channels_are_sampled_in_scan_order_one_frame_apart(emulated_config):
    acq, transports, _ = make(emulated_config)
    [batch] = collect(acq, 1)[:1]
    v, i = batch.samples["mains_v"], batch.samples["main"]
    frame = transports[0].frame_s
    offset = (i.t[: len(v.t)] - v.t[: len(i.t)])[:100]
    # config order is mains_v then main: main is converted one frame after mains_v
    assert np.allclose(offset, frame) or np.allclose(offset, -frame)


def test_one_ioctl_carries_hundreds_of_conversions(emulated_config):
    acq, transports, _ = make(emulated_config)
    collect(acq, 8)
    calls = transports[0].ioctl_calls
    assert acq.conversions / calls >= 256
    assert acq.conversions / calls == 510  # 255 scans of 2 channels: the most that fit in 511


def test_a_stall_ends_the_run_where_the_samples_end(emulated_config):
    acq, _, clock = make(emulated_config)
    collect(acq, 2)
    clock.now += LATE_GAP_S * 2  # the reader was held up for 40 ms: a hole, not bridged
    batches = collect(acq, 3)
    assert batches[0].late and batches[0].final and acq.late_batches == 1
    assert batches[1].gap_before and batches[1].start - batches[0].end == pytest.approx(0.04)
    assert not batches[-1].late
    clock.now += 5.0  # a stall longer than a batch: the tiling restarts
    after = collect(acq, 3)
    stalled = [b for b in after if b.late]
    assert stalled, "the batch cut short by the stall is flagged"
    resumed = [b for b in after if b.gap_before]
    assert len(resumed) == 1
    assert resumed[0].start > stalled[0].end + 4.0


def test_spi_faults_are_retried_with_backoff_and_leave_a_gap(emulated_config, caplog):
    acq, transports, clock = make(emulated_config)
    device = transports[0].handle or transports[0].opener(0, 0, 0)
    device.fail_next = 3
    stop = threading.Event()
    start = clock.now
    thread = threading.Thread(target=acq.run, args=(stop,))
    thread.start()
    got = []
    while len(got) < 6:
        got.append(acq.batches.get(timeout=10))
    stop.set()
    thread.join(timeout=10)
    assert acq.spi_errors == 3
    assert "SPI transfer failed" in caplog.text and "retrying in 0.5 s" in caplog.text
    assert "work again after 3 failures" in caplog.text
    # backoff 0.5 + 1 + 2 s passed on the clock before the first batch
    assert got[0].start >= start + 3.5
    assert got[0].gap_before and acq.crashed is None


def test_two_chips_take_turns_and_share_the_batches(tmp_path):
    text = '[adc]\nchip = "emulated"\nsample_rate_hz = 1000\n'
    text += "".join(
        f'[[channels]]\nname = "c{cs}{ch}"\nadc_channel = {ch}\ncs = {cs}\nkind = "current"\nscale = 0.02\nvoltage = 230\n'
        for cs in (0, 1)
        for ch in range(3)
    )
    path = tmp_path / "c.toml"
    path.write_text(text)
    config = settings.load(path)
    clock = FakeClock()
    transports = open_transports(config, clock)
    acq = Acquisition(config, transports, clock)
    batches = collect(acq, 4)
    assert set(batches[0].samples) == {f"c{cs}{ch}" for cs in (0, 1) for ch in range(3)}
    for b in batches[1:]:
        n = [len(s.t) for s in b.samples.values()]
        assert min(n) >= 400, "each channel is read about half of the time at twice the rate"
    assert transports[0].ioctl_calls and transports[1].ioctl_calls


def test_a_batch_dropped_for_a_full_queue_is_logged_with_its_reason(emulated_config, caplog):
    config = settings.load(emulated_config())
    clock = FakeClock()
    acq = Acquisition(config, open_transports(config, clock), clock, queue_size=1)
    while acq.batches.qsize() < 1:
        acq._read_all()
        acq._publish()
    while acq.dropped_batches < 1:
        acq._read_all()
        acq._publish()
    assert "dropped the batch ending at" in caplog.text
    assert "analysis is not keeping up (1 queued); 1 dropped so far" in caplog.text
