"""GET /api/v1/history over real HTTP, from a real power.db written by the store's own writer.

The file: three days of 10 s batches (power 100 W times the UTC hour of the day), then 0.5 s
batches: 500 W for two hours, a hole of an hour, then 200 W sent back for an hour. Values
are checked against the analytic answer and against the sqlite3 shell over the same rollups.
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from corcypower.clock import FakeClock
from corcypower.live.api import StateAPI
from corcypower.live.history import MAX_POINTS, QUEUE, parse_history_query
from corcypower.live.ring import Ring
from corcypower.settings import from_dict
from corcypower.store import series
from corcypower.store.database import Database
from corcypower.store.history import choose_level
from corcypower.store.retention import Retention
from corcypower.store.series import HistoryReader
from corcypower.store.writer import register_channels, write_rows
from tests.live.helpers import config, get, raw, request, stats
from tests.store.conftest import CONFIG, T0, current_rows, sqlite3_shell, tiled, voltage_rows

HOUR = 3_600_000
DAY = 24 * HOUR
OLD = T0 - 3 * DAY  # 10 s batches from here to T0
HOLE = (T0 + 2 * HOUR, T0 + 3 * HOUR)
END = T0 + 4 * HOUR
NOW = END + 5 * 60_000  # the API's clock: five minutes after the last batch


def hourly_power(ends: np.ndarray) -> np.ndarray:
    return 100.0 * (((ends - 1) // HOUR) % 24)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("history-api") / "power.db"
    keep = Retention(None)
    parts = [
        (tiled(OLD, 3 * 86400, 10_000), 10_000, hourly_power, 230.0),
        (tiled(T0, 2 * 3600), 500, lambda e: 500.0, 230.0),
        (tiled(HOLE[1], 3600), 500, lambda e: -200.0, 240.0),
    ]
    with Database(path) as db:
        register_channels(db, from_dict(CONFIG).channels, "mcp3208", T0)
        for ends, dur, power, volts in parts:
            with db.atomic() as conn:
                write_rows(conn, current_rows(ends, power(ends), duration_ms=dur), T0, keep)
                write_rows(conn, voltage_rows(ends, volts, duration_ms=dur), T0, keep)
    return path


@pytest.fixture(scope="module")
def api(db_path):
    server = StateAPI(
        Ring(600, 0.5), config(), FakeClock(wall_ms=NOW), history=HistoryReader(db_path)
    )
    yield server.start()
    server.close()


def history(api, query: str) -> tuple[int, dict]:
    return get(f"{api.url}/api/v1/history?{query}")


def by_channel(doc: dict) -> dict[str, dict]:
    return {s["channel"]: s for s in doc["series"]}


@pytest.mark.parametrize(
    ("start", "end", "points", "level", "count"),
    [
        (T0, T0 + HOUR, 1000, "raw", 7200),  # 10 s would give 360
        (T0, T0 + HOUR, 300, "10s", 360),
        (OLD, T0, 1000, "1m", 3 * 1440),  # 15 min would give 288
        (OLD, T0, 250, "15m", 3 * 96),
        (OLD, T0, 50, "1h", 3 * 24),  # 6 h would give 12
        (HOLE[1], END, 10_000, "raw", 7200),  # what exists bounds the points
        (OLD - 300 * DAY, T0, 2, "1d", 3),  # 300 days asked, 3 exist
    ],
)
def test_the_level_is_the_dashboards_and_each_series_has_its_points(
    api, db_path, start, end, points, level, count
):
    status, doc = history(api, f"channel=main,mains_v&start={start}&end={end}&points={points}")
    assert status == 200
    assert doc["level"] == level and (doc["start"], doc["end"]) == (start, end)
    with Database(db_path, read_only=True) as db:
        assert choose_level(db, [2, 1], start, end, points) == level
    assert [s["channel"] for s in doc["series"]] == ["main", "mains_v"]  # in the order asked
    for s in doc["series"]:
        assert s["level"] == level and len(s["ts"]) == len(s["mean"]) == count
        assert s["ts"] == sorted(s["ts"])
        assert s["width_ms"] == (None if level == "raw" else series.LEVEL_BY_NAME[level].width_ms)


def test_defaults_are_every_channel_the_last_day_and_1000_points(api):
    status, doc = history(api, "")
    assert status == 200 and (doc["start"], doc["end"]) == (NOW - DAY, NOW)
    assert doc["points"] == 1000 and doc["level"] == "1m"
    volts, main = doc["series"]  # every channel, in id order
    assert (volts["channel"], volts["unit"], main["channel"], main["unit"]) == (
        "mains_v",
        "V",
        "main",
        "W",
    )
    assert "import_wh" in main and "import_wh" not in volts  # no energy in a voltage


def test_times_as_the_cli_takes_them(api):
    iso = "2026-01-01T00:00:00Z"  # T0
    status, doc = history(api, f"start={iso}&end=-5m")
    assert status == 200 and (doc["start"], doc["end"]) == (T0, NOW - 5 * 60_000)
    assert parse_history_query("start=-2h&end=now", NOW).start_ms == NOW - 2 * HOUR


def test_values_and_energy_are_the_analytic_ones_and_a_hole_stays_a_hole(api):
    status, doc = history(api, f"start={T0}&end={END}&points=10")
    assert status == 200 and doc["level"] == "15m"
    volts, main = doc["series"]
    ts, mean = np.array(main["ts"]), np.array(main["mean"])
    assert not ((ts >= HOLE[0]) & (ts < HOLE[1])).any()  # no bucket, let alone a zero, in the hole
    assert len(ts) == 12
    assert (mean[ts < HOLE[0]] == 500.0).all() and (mean[ts >= HOLE[1]] == -200.0).all()
    assert main["min"] == main["mean"] == main["max"]
    assert sum(main["import_wh"]) == pytest.approx(1000.0)  # 500 W for 2 h
    assert sum(main["export_wh"]) == pytest.approx(200.0)  # 200 W sent back for 1 h
    assert main["measured_ms"] == [900_000] * 12
    assert set(volts["mean"]) == {230.0, 240.0}
    assert main["gaps"] == volts["gaps"] == [list(HOLE)] and main["gaps_cut"] is False


def test_raw_batches_are_their_own_buckets(api):
    status, doc = history(api, f"channel=main&start={HOLE[1] - 1000}&end={HOLE[1] + 1000}")
    assert status == 200 and doc["level"] == "raw"
    [main] = doc["series"]
    assert main["ts"] == [HOLE[1], HOLE[1] + 500] and main["mean"] == [-200.0, -200.0]
    assert "min" not in main and main["measured_ms"] == [500, 500]
    assert main["export_wh"] == [round(200 * 0.5 / 3600, 6)] * 2 and main["import_wh"] == [0, 0]
    assert main["gaps"] == [list(HOLE)]  # the hole ends inside the range


@pytest.mark.parametrize("level", ["10s", "1m", "15m", "1h"])
def test_values_equal_what_the_sqlite3_shell_reads_from_the_rollup(api, db_path, level):
    points = {"10s": 2000, "1m": 200, "15m": 10, "1h": 5}[level]
    start, end = T0 - 3 * HOUR - 12_345, END
    status, doc = history(api, f"channel=main&start={start}&end={end}&points={points}")
    assert status == 200 and doc["level"] == level
    width = series.LEVEL_BY_NAME[level].width_ms
    out = sqlite3_shell(
        db_path,
        f"""SELECT json_group_array(json_array(ts, mean, min, max, duration_ms, import_wh,
                export_wh)) FROM (SELECT * FROM rollup_{level} WHERE channel_id = 2
                AND ts > {start} - {width} AND ts < {end} ORDER BY ts)""",
    )
    rows = np.array(json.loads(out), dtype=float)
    [main] = doc["series"]
    assert main["ts"] == rows[:, 0].astype(np.int64).tolist()
    for i, name in enumerate(["mean", "min", "max", "measured_ms", "import_wh", "export_wh"], 1):
        np.testing.assert_allclose(main[name], rows[:, i], rtol=0, atol=1e-3 if i < 4 else 1e-6)


def test_an_answer_is_cut_to_the_bucket_cap_by_reading_a_coarser_level(api, monkeypatch):
    monkeypatch.setattr(series, "MAX_BUCKETS", 1000)
    status, doc = history(api, f"start={T0}&end={T0 + HOUR}&points={MAX_POINTS}")
    assert status == 200 and doc["points"] == 500  # the cap shared by two channels
    assert doc["level"] == "10s"  # raw, 7200 per channel, is over the cap; 10 s, 360, fits
    assert sum(len(s["ts"]) for s in doc["series"]) <= 1000


def test_each_series_carries_its_channels_phase_or_null(tmp_path):
    """A three-phase house's channels: L1's and L2's CTs, L1's voltage, a sub-circuit without."""
    three = {
        "channels": [
            {"name": "l1_v", "adc_channel": 0, "kind": "voltage", "scale": 0.25, "phase": "L1"},
            {"name": "l1", "adc_channel": 1, "kind": "current", "scale": 0.02, "phase": "L1"},
            {"name": "l2", "adc_channel": 2, "kind": "current", "scale": 0.02, "phase": "L2",
             "voltage_shift_deg": 120},
            {"name": "oven", "adc_channel": 3, "kind": "current", "scale": 0.02},
        ]
    }  # fmt: skip
    with Database(tmp_path / "power.db") as db:
        ids = register_channels(db, from_dict(three).channels, "mcp3208", T0)
        with db.atomic() as conn:
            for cid in ids.values():
                rows = current_rows(tiled(T0, 60), 100.0 * cid, channel_id=cid)
                write_rows(conn, rows, T0, Retention(None))
    answer = json.loads(HistoryReader(tmp_path / "power.db")(None, T0, T0 + 60_000, 10))
    assert [(s["channel"], s["phase"]) for s in answer["series"]] == [
        ("l1_v", "L1"), ("l1", "L1"), ("l2", "L2"), ("oven", None)
    ]  # fmt: skip
    asked = json.loads(HistoryReader(tmp_path / "power.db")(["oven", "l2"], T0, T0 + 60_000, 10))
    assert [(s["channel"], s["phase"]) for s in asked["series"]] == [("oven", None), ("l2", "L2")]


def test_a_channel_without_a_phase_says_null_over_http(api):
    status, doc = history(api, "channel=main")
    assert status == 200 and doc["series"][0]["phase"] is None


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("channel=kitchen", "no channel named kitchen here (channels: mains_v, main)"),
        ("channel=main,main", "expected 1 to 16 distinct names"),
        ("channel=", "expected 1 to 16 distinct names"),
        ("points=0", "points='0': expected points per channel from 1 to 10000"),
        ("points=10001", "from 1 to 10000"),
        ("points=1.5", "from 1 to 10000"),
        ("start=soon", "start='soon': expected milliseconds since the epoch (UTC), 'now'"),
        ("end=-1e3h", "end='-1e3h'"),
        ("start=1900-01-01", "from 1970 to 2100"),
        (f"start={NOW}", f"start ({NOW} ms) is not before end ({NOW} ms)"),
        ("start=0&end=99999999999999", "end='99999999999999': expected whole milliseconds"),
        (f"start=0&end={NOW}", "days; expected at most ten years (3660)"),
        ("since=5", "unknown parameter 'since'; expected channel, start, end and points"),
        ("points=5&points=6", "points is given 2 times"),
    ],
)
def test_a_bad_query_is_a_one_line_json_400(api, query, words):
    status, doc = history(api, query)
    assert status == 400 and list(doc) == ["error"]
    assert words in doc["error"] and "\n" not in doc["error"]


def test_without_a_database_the_answer_is_503_naming_it(tmp_path):
    missing = tmp_path / "nothing.db"
    with_reader = StateAPI(
        Ring(600, 0.5), config(), FakeClock(wall_ms=NOW), history=HistoryReader(missing)
    )
    without = StateAPI(Ring(600, 0.5), config(), FakeClock(wall_ms=NOW))
    for server, words in ((with_reader, f"{missing}: no such database"), (without, "no power.db")):
        try:
            server.start()
            status, doc = history(server, "")
            assert status == 503 and words in doc["error"]
            assert history(server, "points=0")[0] == 400  # the query is checked first
        finally:
            server.close()


def test_a_query_over_its_time_is_interrupted_and_answered_503(db_path):
    server = StateAPI(
        Ring(600, 0.5), config(), FakeClock(wall_ms=NOW), history=HistoryReader(db_path, seconds=0)
    ).start()
    try:
        status, doc = history(server, f"start={OLD}&end={END}&points=10000")
        assert status == 503 and "took over 0 s; ask for a shorter range" in doc["error"]
    finally:
        server.close()


def test_history_waits_on_its_own_thread_while_state_answers_and_queues_are_bounded():
    release, entered = threading.Event(), threading.Semaphore(0)

    def slow(*query):  # a stand-in for a long sqlite read: holds its thread until released
        entered.release()
        release.wait(60)
        return b'{"series":[]}'

    server = StateAPI(Ring(600, 0.5), config(), FakeClock(wall_ms=NOW), history=slow).start()
    answers = []
    clients = [
        threading.Thread(target=lambda: answers.append(history(server, "")[0]))
        for _ in range(QUEUE)
    ]
    try:
        server.ring.add(NOW, 500, stats())
        for client in clients:
            client.start()
        assert entered.acquire(timeout=30)  # one query is reading, the others wait for it
        while server.history_endpoint.waiting < QUEUE:
            assert all(c.is_alive() for c in clients)
            threading.Event().wait(0.01)
        assert get(server.url + "/api/v1/state")[0] == 200  # not held up by history
        status, doc = history(server, "")
        assert status == 503 and f"{QUEUE} history queries wait already" in doc["error"]
        release.set()
        for client in clients:
            client.join(timeout=60)
        assert answers == [200] * QUEUE
    finally:
        release.set()
        server.close()


def test_the_host_allow_list_applies(api):
    [(status, _, body)] = raw(api.server.address, request("/api/v1/history", host="evil.example"))
    assert status == 421 and "error" in json.loads(body)
