"""What the export tests need that a laptop may lack: the `mysql` extra."""

from __future__ import annotations

import importlib.util

import pytest

from tests.helpers import IN_CI

MISSING = importlib.util.find_spec("pymysql") is None and not IN_CI
REASON = "PyMySQL is not installed (pip install -e '.[mysql]'; `make test` does)"


def pymysql_or_skip() -> None:
    """Skip without PyMySQL; under CI that is a failure, never a skip."""
    if importlib.util.find_spec("pymysql") is None:
        if IN_CI:
            pytest.fail(f"CI=true but {REASON}")
        pytest.skip(REASON)
