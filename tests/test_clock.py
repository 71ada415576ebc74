"""Batch stamps against wall-clock steps (corcypower/clock.py), on the injectable FakeClock; and
the clock's words for people: how long ago."""

from __future__ import annotations

import numpy as np
import pytest

from corcypower.clock import ACCEPT_STEP_AFTER_S, RESTART_HOLE_MS, FakeClock, Stamper, age_text

DAY_MS = 86_400_000
BATCH_MS = 500


class Run:
    """Batches of 0.5 s tiling monotonic time, stamped as the daemon stamps them."""

    def __init__(self, last_ts=None):
        self.clock = FakeClock()
        self.stamper = Stamper(last_ts)
        self.start_wall = self.clock.wall_ms()
        self.stamps: list[int] = []

    def batches(self, seconds: float, hole_s: float = 0.0) -> list[int]:
        self.clock.now += hole_s
        out = []
        for _ in range(round(seconds * 1000 / BATCH_MS)):
            self.clock.now += BATCH_MS / 1000
            out.append(self.stamper.stamp(self.clock.now, self.clock.wall_ms(), BATCH_MS))
        self.stamps += out
        return out

    def true_ms(self) -> int:
        """What the wall clock would read had it never stepped."""
        return self.start_wall + round((self.clock.now - 1000.0) * 1000)


def steps(stamps) -> set[int]:
    return set(np.diff(stamps).tolist())


def test_a_steady_clock_gives_its_own_time():
    run = Run()
    stamps = run.batches(10)
    assert stamps[-1] == run.clock.wall_ms() and steps(stamps) == {BATCH_MS}


def test_a_brief_forward_jump_dates_nothing_in_the_future():
    """+1 day for 6 s (a bad NTP answer, an RTC glitch): ignored; no batch stamped tomorrow."""
    run = Run()
    run.batches(5)
    run.clock.step_wall(DAY_MS)
    run.batches(6)
    run.clock.step_wall(-DAY_MS)
    run.batches(30)
    assert max(run.stamps) <= run.true_ms()
    assert steps(run.stamps) == {BATCH_MS}  # neither a gap nor a squeeze
    assert run.stamps[-1] == run.clock.wall_ms()


def test_a_forward_step_that_holds_is_taken_and_leaves_a_gap():
    """NTP really moved the clock: believed after ACCEPT_STEP_AFTER_S, the skipped time a gap."""
    run = Run()
    run.batches(5)
    run.clock.step_wall(120_000)
    held = run.batches(ACCEPT_STEP_AFTER_S)
    assert steps(held) == {BATCH_MS}  # on probation: the monotonic clock dates them
    after = run.batches(5)
    assert after[0] - held[-1] == BATCH_MS + 120_000 and after[-1] == run.clock.wall_ms()


def test_a_step_back_that_holds_is_absorbed_at_half_speed_not_1_ms_apart():
    run = Run()
    run.batches(5)
    run.clock.step_wall(-60_000)
    held = run.batches(ACCEPT_STEP_AFTER_S)
    assert steps(held) == {BATCH_MS}
    catching_up = run.batches(2 * 60)  # a minute back takes two minutes to absorb
    assert steps(catching_up) == {BATCH_MS // 2}
    assert catching_up[-1] == run.clock.wall_ms()
    assert steps(run.batches(10)) == {BATCH_MS}
    assert run.stamps == sorted(set(run.stamps))


def test_a_brief_step_back_is_ignored():
    run = Run()
    run.batches(5)
    run.clock.step_wall(-60_000)
    run.batches(10)
    run.clock.step_wall(60_000)
    run.batches(10)
    assert steps(run.stamps) == {BATCH_MS} and run.stamps[-1] == run.clock.wall_ms()


@pytest.mark.parametrize("step_ms, first_step", [(300, 800), (-300, BATCH_MS // 2)])
def test_small_steps_are_followed_at_once(step_ms, first_step):
    """Under STEP_TOLERANCE_MS: no probation; a small step back is absorbed at half speed."""
    run = Run()
    before = run.batches(5)[-1]
    run.clock.step_wall(step_ms)
    after = run.batches(5)
    assert after[0] - before == first_step and after[-1] == run.clock.wall_ms()


def test_a_database_from_the_future_is_continued_after_a_marked_hole():
    """Restarted with the clock an hour behind the stored rows: stamps follow them, half speed."""
    clock = FakeClock()
    stored = clock.wall_ms() + 3_600_000
    run = Run(last_ts=stored)
    first = run.batches(1)[0]
    assert first == stored + RESTART_HOLE_MS + BATCH_MS  # the unknown stop: a 1 s gap
    assert steps(run.batches(60)) == {BATCH_MS // 2}


def test_a_hole_in_sampling_stays_a_hole_while_catching_up():
    run = Run()
    run.batches(5)
    run.clock.step_wall(-600_000)
    run.batches(ACCEPT_STEP_AFTER_S + 10)
    before = run.stamps[-1]
    after = run.batches(2, hole_s=7.0)  # SPI failed for 7 s
    assert after[0] - before == 7000 + BATCH_MS  # the hole keeps its length


def test_a_few_ms_of_jitter_after_a_hole_warns_of_nothing(caplog):
    """The soak found "-0.5 s behind" warnings: the floor after a hole, met by ms of jitter."""
    run = Run()
    before = run.batches(5)[-1]
    run.clock.step_wall(-3)  # the wall clock read 3 ms early
    after = run.batches(2, hole_s=2.0)
    assert after[0] - before == 2000 + BATCH_MS  # the hole keeps its length
    assert "behind" not in caplog.text and "caught up" not in caplog.text


def test_ages_read_as_people_say_them():
    assert age_text(12.4) == "12.4 s" and age_text(-1) == "0.0 s"
    assert age_text(300) == "5 min"
    assert age_text(3 * 3600) == "3.0 h"
    assert age_text(3 * 86_400) == "3 days"
