"""power.db as the outbox: which minutes are closed, whole-minute batches, the mark."""

from __future__ import annotations

import sqlite3

import pytest

from corcypower.errors import StoreError
from corcypower.export.outbox import NOTHING_SENT, STALLED_MS, Outbox
from corcypower.export.tables import Record, Rejected
from tests.export.device import START_MS, Device

MIN = 60_000


@pytest.fixture
def device(tmp_path):
    d = Device(tmp_path, "garage")
    d.write(START_MS, 10, {"main": 600.0, "solar": -1200.0})  # 10 minutes, 10 s batches
    return d


def outbox(device, channels=("main", "solar"), target="t"):
    return Outbox(device.db_path, target, channels)


def test_the_last_minute_closes_when_a_batch_ends_at_its_end(device):
    with outbox(device) as box:
        assert box.closed_until() == START_MS + 9 * MIN  # batches end at +10:00 exactly
    device.write(START_MS + 10 * MIN, 0.5, {"main": 600.0, "solar": -1200.0})
    with outbox(device) as box:
        assert box.closed_until() == START_MS + 9 * MIN  # 10:00-10:30: minute 10 still open


def test_a_lagging_channel_holds_the_others_back_a_stalled_one_does_not(device):
    device.write(START_MS + 10 * MIN, 5, {"main": 600.0})  # solar lags 5 minutes
    with outbox(device) as box:
        assert box.closed_until() == START_MS + 9 * MIN
    device.write(START_MS + 15 * MIN, 10, {"main": 600.0})  # now 15 minutes: stalled
    assert 15 * MIN > STALLED_MS
    with outbox(device) as box:
        assert box.closed_until() == START_MS + 24 * MIN
    with outbox(device, channels=("main",)) as box:  # solar taken out of the config
        assert box.closed_until() == START_MS + 24 * MIN


def test_nothing_is_closed_without_data(tmp_path):
    with outbox(Device(tmp_path, "empty")) as box:
        assert box.closed_until() is None
        assert box.backlog() == (0, None)
        assert box.state().sent_ts == NOTHING_SENT


def test_batches_hold_whole_minutes(device):
    until = START_MS + 9 * MIN
    with outbox(device) as box:
        assert len(box.next_chunk(NOTHING_SENT, until, 4)) == 4  # 2 channels: 2 whole minutes
        rows = box.next_chunk(NOTHING_SENT, until, 5)  # not 2.5 minutes
        assert [(r.ts - START_MS) // MIN for r in rows] == [0, 0, 1, 1]
        assert [r.channel for r in rows] == ["main", "solar", "main", "solar"]
        assert rows[0].import_wh == pytest.approx(10.0) and rows[1].export_wh == pytest.approx(20.0)
        assert rows[0].batches == 6 and rows[0].duration_ms == 60_000
        one = box.next_chunk(NOTHING_SENT, until, 1)  # fewer rows than a minute: the minute
        assert [r.channel for r in one] == ["main", "solar"]
        assert len(box.next_chunk(START_MS + 7 * MIN, until, 1000)) == 4  # minutes 8 and 9
        assert box.next_chunk(until, until, 1000) == []


def test_the_mark_moves_only_from_where_it_was_read(device):
    with outbox(device) as box:
        box.mark_failed("MySQL down", 5)
        box.mark_failed("MySQL down", 6)
        assert box.state()[3:] == ("MySQL down", 6, 2)
        assert box.backlog() == (20, START_MS)
        box.mark_sent(NOTHING_SENT, START_MS + MIN, 6, [], 7)
        assert box.state() == (START_MS + MIN, 6, 7, None, None, 0)
        assert box.backlog() == (16, START_MS + 2 * MIN)
        box.resend(START_MS)  # `mysql resend` while a batch was in flight
        box.mark_sent(START_MS + MIN, START_MS + 3 * MIN, 6, [], 8)
        assert box.state().sent_ts == START_MS - 1  # the resend wins
        assert box.backlog() == (20, START_MS)


def test_refused_rows_are_kept_until_resent(device):
    refused = Rejected(Record("ChannelMinute", START_MS + MIN, "main", ()), "MySQL error 4025")
    with outbox(device) as box:
        box.mark_sent(NOTHING_SENT, START_MS + 2 * MIN, 5, [refused], 9)
        assert [tuple(r) for r in box.rejected()] == [
            ("ChannelMinute", START_MS + MIN, "main", "MySQL error 4025", 9)
        ]
        box.resend(START_MS + 2 * MIN)
        assert len(box.rejected()) == 1  # before the resend's start: kept
        box.resend(START_MS)
        assert box.rejected() == []


def test_each_target_has_its_own_mark(device):
    with outbox(device, target="a") as a, outbox(device, target="b") as b:
        a.mark_sent(NOTHING_SENT, START_MS, 2, [], 1)
        assert a.state().sent_ts == START_MS and b.state().sent_ts == NOTHING_SENT


def test_a_read_only_outbox_cannot_write(device):
    with Outbox(device.db_path, "t", ("main",), read_only=True) as box:
        assert box.backlog()[0] == 20  # every channel of power.db, configured or not
        with pytest.raises(StoreError, match="cannot record the MySQL export: attempt to write"):
            box.mark_failed("x", 1)


def test_an_older_database_is_named(tmp_path):
    path = tmp_path / "old.db"
    sqlite3.connect(path).execute("CREATE TABLE adc (time REAL)").connection.close()
    with pytest.raises(StoreError, match="made by an older version"):
        Outbox(path, "t", ())
    with pytest.raises(StoreError, match="no such database"):
        Outbox(tmp_path / "none.db", "t", ())
