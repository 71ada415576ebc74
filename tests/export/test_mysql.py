"""The central database, for real (MariaDB): tables, upserts, refused rows, clear errors."""

from __future__ import annotations

import dataclasses
import socket
from datetime import datetime

import pytest

from corcypower.errors import ExportError
from corcypower.export.config import ExportSettings
from corcypower.export.mysql import Central, dialect, upsert_sql
from corcypower.export.tables import CHANNEL_MINUTE, MinuteRow, channel_records
from tests.export.mariadb import PASSWORD, USER

TS = 1_767_225_600_000


def settings_for(server, name, **changes) -> ExportSettings:
    s = ExportSettings(
        host=server.host,
        port=server.port,
        database=name,
        user=USER,
        password=PASSWORD,
        point="garage",
        connect_timeout=5.0,
        read_timeout=5.0,
        write_timeout=5.0,
    )
    return dataclasses.replace(s, **changes)


def rows(n, import_wh=1.0, start=TS):
    return channel_records(
        "garage",
        [MinuteRow(start + k * 60_000, "main", import_wh, 0.0, 50.0, 70.0, 60.0, 120, 60_000) for k in range(n)],
    )  # fmt: skip


def test_the_dialect_follows_the_server_version():
    assert dialect("10.11.19-MariaDB-0+deb12u1") == "values"
    assert dialect("5.5.5-10.6.12-MariaDB") == "values"  # MariaDB behind a 5.5.5- prefix
    assert dialect("5.7.44-log") == "values"
    assert dialect("8.0.18") == "values"  # the row alias came in 8.0.19
    assert dialect("8.0.36") == "mysql8" and dialect("9.1.0") == "mysql8"


def test_upserts_set_values_in_both_spellings():
    mariadb = upsert_sql(CHANNEL_MINUTE, 2, "values")
    assert mariadb.count("(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)") == 2
    assert mariadb.endswith("ON DUPLICATE KEY UPDATE `ImportWh` = VALUES(`ImportWh`), "
                            "`ExportWh` = VALUES(`ExportWh`), `MinW` = VALUES(`MinW`), "
                            "`MaxW` = VALUES(`MaxW`), `AvgW` = VALUES(`AvgW`), "
                            "`NumReads` = VALUES(`NumReads`), "
                            "`MeasuredSeconds` = VALUES(`MeasuredSeconds`)")  # fmt: skip
    mysql8 = upsert_sql(CHANNEL_MINUTE, 1, "mysql8")
    assert " AS new ON DUPLICATE KEY UPDATE `ImportWh` = new.`ImportWh`, " in mysql8
    for sql in (mariadb, mysql8):  # keys are never updated, and nothing is added to
        assert "`TimeStamp` =" not in sql and "`Point` =" not in sql and "+" not in sql


def test_sending_twice_sets_the_same_values_never_adds(mariadb, database, central):
    assert central.write(rows(5)) == []
    assert central.write(rows(5)) == []
    assert central.write(rows(1, import_wh=3.5)) == []  # a corrected minute replaces the old
    assert mariadb.query(database, "SELECT count(*), sum(ImportWh) FROM ChannelMinute") == [
        (5, 3.5 + 4 * 1.0)
    ]
    assert mariadb.query(database, "SELECT TimeStamp FROM ChannelMinute LIMIT 1") == [
        (datetime(2026, 1, 1),)
    ]


def test_refused_rows_are_set_aside_and_the_rest_commit(mariadb, database, central):
    batch = rows(100)
    bad = {17: -1.0, 63: float("inf")}  # a CHECK (ImportWh >= 0), and a NULL in a NOT NULL
    for k, value in bad.items():
        batch[k] = channel_records("garage", [MinuteRow(TS + k * 60_000, "main", value, 0.0, 50.0, 70.0, 60.0, 120, 60_000)])[0]  # fmt: skip
    rejected = central.write(batch)
    assert [r.record.ts for r in rejected] == [TS + 17 * 60_000, TS + 63 * 60_000]
    assert "4025" in rejected[0].error and "ChannelMinuteEnergy" in rejected[0].error
    assert "1048" in rejected[1].error and "ImportWh" in rejected[1].error
    assert mariadb.query(database, "SELECT count(*) FROM ChannelMinute") == [(98,)]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"password": "wrong"}, f"MySQL {USER}@127.0.0.1:PORT/DB: access denied: check [export.mysql] user and the password"),
        ({"host": "no-such-host.invalid"}, "unknown host 'no-such-host.invalid': check [export.mysql] host"),
        ({"database": "nowhere"}, "user 'corcy' may not use database 'nowhere', or it does not exist: CREATE DATABASE `nowhere`; GRANT SELECT, INSERT, UPDATE ON `nowhere`.* TO 'corcy'@'%'"),
    ],
)  # fmt: skip
def test_connection_errors_say_what_to_check(mariadb, database, changes, message):
    central = Central(settings_for(mariadb, database, **changes))
    with pytest.raises(ExportError) as err:
        central.write(rows(1))
    expected = message.replace("PORT", str(mariadb.port)).replace("DB", database)
    assert expected in str(err.value)
    assert central.conn is None


def test_a_dropped_database_says_to_create_it(mariadb, database):
    mariadb.query(database, f"DROP DATABASE {database}")  # the user keeps its grant
    with pytest.raises(
        ExportError, match=f"there is no database '{database}' on the server: create it"
    ):
        Central(settings_for(mariadb, database)).connect()


def test_a_missing_table_says_to_run_init(mariadb, database):
    central = Central(settings_for(mariadb, database))
    with pytest.raises(ExportError, match="doesn't exist: run `corcypower mysql init`"):
        central.write(rows(1))


def test_a_server_that_never_answers_times_out():
    with socket.socket() as hole:  # accepts connections, never says a word
        hole.bind(("127.0.0.1", 0))
        hole.listen()
        s = ExportSettings(
            "127.0.0.1",
            hole.getsockname()[1],
            "db",
            "u",
            "p",
            read_timeout=0.3,
            connect_timeout=0.3,
        )
        with pytest.raises(ExportError, match="lost the connection .*timed out"):
            Central(s).connect()


def test_a_dropped_connection_is_an_error_then_reconnects(mariadb, database, central):
    assert central.write(rows(1)) == []
    (conn_id,) = mariadb.query(database, "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s", (USER,))[0]  # fmt: skip
    mariadb.query(database, f"KILL {conn_id}")
    with pytest.raises(ExportError, match="lost the connection"):
        central.write(rows(2))
    assert central.write(rows(2)) == []  # a fresh connection
    assert mariadb.query(database, "SELECT count(*) FROM ChannelMinute") == [(2,)]
