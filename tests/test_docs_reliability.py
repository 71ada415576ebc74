"""docs/reliability.md says what the code does: its numbers are the code's, and README links it."""

from __future__ import annotations

from corcypower.clock import ACCEPT_STEP_AFTER_S, RESTART_HOLE_MS, STEP_TOLERANCE_MS
from corcypower.store.lock import WriterLock
from tests.helpers import REPO
from tests.system.test_units import directives

DOC = (REPO / "docs" / "reliability.md").read_text()


def test_the_readme_links_it():
    assert "(docs/reliability.md)" in (REPO / "README.md").read_text()


def test_the_clock_numbers_are_the_codes():
    assert (
        f"holds for {ACCEPT_STEP_AFTER_S:g} s" in DOC and f"within {ACCEPT_STEP_AFTER_S:g} s" in DOC
    )
    assert f"A step of up to {STEP_TOLERANCE_MS / 1000:g} s is followed at once" in DOC
    assert f"starts {RESTART_HOLE_MS / 1000:g} s after that row" in DOC


def test_the_lock_file_is_the_one_named(tmp_path):
    with WriterLock(tmp_path / "power.db", "a test") as lock:
        assert lock.path.name == "power.db.lock" and "`power.db.lock`" in DOC


def test_the_unit_limits_are_the_units():
    mcpd, dashboard = directives("mcpd.service"), directives("dashboard.service")
    assert f"`LimitNOFILE={mcpd['LimitNOFILE'][0]}`" in DOC
    assert dashboard["LimitNOFILE"] == mcpd["LimitNOFILE"]
    assert f"`TasksMax={mcpd['TasksMax'][0]}` for the daemon" in DOC
    assert f"`TasksMax={dashboard['TasksMax'][0]}` for the dashboard" in DOC
