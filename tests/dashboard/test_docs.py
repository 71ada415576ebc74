"""The dashboard's docs stay in sync: endpoints, settings and their defaults, commands, flags."""

from __future__ import annotations

import re

from corcypower import settings
from corcypower.analysis import FLAG_NAMES
from corcypower.dashboard.cards import FLAG_TEXT
from corcypower.live.api import ENDPOINTS
from tests.helpers import REPO

DOC = (REPO / "docs" / "dashboard.md").read_text()
README = (REPO / "README.md").read_text()
SECTIONS = ("api", "remote_voltage", "dashboard", "tariff")


def test_every_endpoint_is_documented():
    for endpoint in ENDPOINTS:
        assert f"GET {endpoint}" in DOC and f"GET {endpoint}" in README


def test_every_setting_of_the_live_path_is_in_the_table_with_its_default():
    rows = dict(re.findall(r"^\| `\[(\w+\] \w+)` \| ([^|]+) \|", DOC, re.M))
    for s in settings.SETTINGS:
        section, _, key = s.name.rpartition(".")
        if section not in SECTIONS:
            continue
        cell = rows.get(f"{section}] {key}")
        assert cell is not None, f"[{section}] {key} is missing from docs/dashboard.md"
        if s.default is None or s.default == []:
            continue
        shown = cell.strip().strip("`")
        if isinstance(s.default, bool):
            assert shown == str(s.default).lower(), s.name
        elif isinstance(s.default, str):
            assert shown == f'"{s.default}"', s.name
        else:
            assert float(shown) == s.default, s.name


def test_the_commands_are_in_the_readme():
    for command in ("dashboard", "demo"):
        assert f"| `corcypower {command}" in README
    assert "bokeh serve bokeh_dashboard.py" in README + DOC


def test_every_flag_is_explained_on_the_page_and_in_the_docs():
    for name in FLAG_NAMES.values():
        assert name in FLAG_TEXT
        assert name in DOC


def test_the_readme_shows_a_phone_and_the_docs_a_desktop_both_made_by_the_script():
    assert "](docs/screenshot-phone.png)" in README
    assert "(screenshot-phone.png)" in DOC and "(screenshot-desktop.png)" in DOC
    for name in ("phone", "desktop"):
        assert (REPO / "docs" / f"screenshot-{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"screenshot-{name}.png" in (REPO / "scripts" / "screenshots.py").read_text()
    assert "make screenshots" in DOC


def test_how_to_add_a_section_is_documented():
    from corcypower.dashboard.page import SECTIONS

    assert "### Adding a section" in DOC and "`SECTIONS`" in DOC
    for cls in SECTIONS:
        assert cls.__module__.startswith("corcypower.dashboard.sections.")
