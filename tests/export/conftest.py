"""The export tests: what they skip without the mysql extra (the MariaDB fixtures, `mariadb`,
`database` and `central`, are tests/conftest.py's: the dashboard's tests use them too)."""

from __future__ import annotations

from tests.export.needs import MISSING

# Without the mysql extra these cannot even be imported; test_start.py says why they are
# missing (and under CI=true they are collected, and fail).
collect_ignore = (
    [
        "test_mysql.py",
        "test_exporter.py",
        "test_outbox.py",
        "test_cli_mysql.py",
        "test_daemon_export.py",
    ]
    if MISSING
    else []
)
