"""The page built without a server: its sections, the banner, sharing between tabs, the template."""

from __future__ import annotations

import math
import re
import sqlite3
import time

import pytest
from bokeh.document import Document
from bokeh.layouts import column

from corcypower.dashboard.page import SECTIONS, Page, make_document
from corcypower.dashboard.section import Section
from tests.dashboard.helpers import batch, build_page, simulated_db

NOW = int(time.time() * 1000)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return simulated_db(tmp_path_factory.mktemp("page") / "power.db", hours=3, end_ms=NOW - 1000)


@pytest.fixture
def page(db_path):
    return build_page(db_path, [batch(NOW - 1000 + k * 500) for k in range(3)])


def test_the_page_is_its_sections_top_to_bottom(page):
    root = page.doc.get_model_by_name("page")
    assert root in page.doc.roots
    names = [child.name for child in root.children]
    # the house view is there only with other devices or the central database (house.py)
    shown = [cls.name for cls in SECTIONS if cls.wanted(page.app)]
    assert "house_section" not in shown
    assert names == ["banner", "title", *shown]
    assert page.doc.title.startswith("CorcyPower · ")


def test_the_browser_gets_the_cards_first_and_the_rest_once_it_has_drawn_them(db_path):
    first = build_page(db_path, [batch(NOW)])  # the server's first page learns the bundles
    doc = Document()
    doc._session_context = lambda: "a session"  # as under a server: the page comes in parts
    page = make_document(doc, first.app)
    later = {"gauge", "live_plot", "alerts", "history_plot", "health"}
    names = {m.name for m in doc.models}
    assert "numbers" in names and not later & names
    page.add_the_rest()  # the browser said it has drawn the cards (DocumentReady)
    assert later <= {m.name for m in doc.models}
    top, plot = page.section("live_section").layout_box.children
    assert [c.name for c in top.children] == ["numbers", "gauge"] and plot.name == "live_plot"
    # what they show of the live batch, at once: the batch the cards got, not the next one
    health = page.section("health_section").health.text
    assert health == first.section("health_section").health.text and "No batch yet" not in health


def test_a_new_section_is_a_class_in_the_list(db_path):
    class Note(Section):
        name = "note_section"
        shown: list = []

        def layout(self):
            self.note = self.page.div("note", "hello")
            return column(self.note)

        def prepare(self, batches):
            return len(batches)

        def show(self, prepared):
            self.shown.append(prepared)

    page = build_page(db_path, [batch(NOW)])
    other = Page(page.app, Document(), sections=(*SECTIONS, Note))
    other.on_batches([batch(NOW + 500), batch(NOW + 1000)])
    assert other.section("note_section").shown == [1, 2]
    assert other.doc.get_model_by_name("note").text == "hello"


def test_the_banner_appears_when_no_data_arrives(page):
    poller = page.app.poller
    poller.last_arrival = time.monotonic()  # however long the page took to build
    page.tick()
    assert not page.banner.visible
    poller.last_arrival = time.monotonic() - 12
    page.tick()
    assert page.banner.visible
    assert re.search(r"No data from the monitor for 12\.\d s", page.banner.text)
    page.on_batches([batch(NOW + 10_000)])
    assert not page.banner.visible


def test_the_page_reads_power_db_read_only(page):
    db = page.app._db()
    assert db.read_only
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.conn.execute("DELETE FROM batch")


def test_the_document_serialises(page):
    page.doc.to_json()
    page.on_batches([batch(NOW + 1000, main_w=math.nan)])  # NaN travels as NaN, not an error
    page.doc.to_json()


def test_batches_every_tab_receives_are_prepared_once(db_path):
    first = build_page(db_path)
    second = make_document(Document(), first.app)
    made = []
    live = first.section("live_section")
    prepare = type(live).prepare
    for p in (first, second):
        section = p.section("live_section")
        section.prepare = lambda batches, s=section: made.append(1) or prepare(s, batches)
    news = [batch(NOW + 500)]
    first.on_batches(news)
    second.on_batches(news)
    assert made == [1]
    assert first.doc.get_model_by_name("live").data["ts"][-1] == NOW + 500
    assert second.doc.get_model_by_name("live").data["ts"][-1] == NOW + 500


def test_batches_already_shown_are_not_drawn_again(page):
    live = page.doc.get_model_by_name("live")
    page.on_batches([batch(NOW - 500), batch(NOW)])
    assert len(live.data["ts"]) == 3


def test_the_poller_hands_batches_to_the_document_on_its_next_tick(page):
    before = len(page.doc.session_callbacks)
    page.app.poller.take({"newest": NOW + 500, "batches": [batch(NOW + 500)]})
    assert len(page.doc.session_callbacks) == before + 1


def test_a_download_reaches_the_browser_as_a_named_file(page):
    page.download("x.csv", lambda db: "a,b\n1,2\n", failed=pytest.fail)
    assert page.saved.data == {"name": ["x.csv"], "text": ["a,b\n1,2\n"]}
    why = []
    page.download("y.csv", lambda db: db.query("SELECT * FROM missing_table"), failed=why.append)
    assert "no such table: missing_table" in why[0]


def test_without_a_database_the_page_still_shows_live_data_and_says_why(tmp_path):
    page = build_page(tmp_path / "missing.db", [batch(NOW)])
    assert page.doc.get_model_by_name("live").data["ts"] == [NOW]
    assert "no such database" in page.doc.get_model_by_name("history_note").text
    assert "No energy" in page.doc.get_model_by_name("energy_summary").text


def test_the_only_controls_choose_what_to_see_or_save(page):
    from bokeh.models import Button, DatePicker, InputWidget, RadioButtonGroup

    controls = {
        m.name
        for m in page.doc.models
        if isinstance(m, InputWidget | Button | RadioButtonGroup | DatePicker)
    }
    assert controls == {
        "ranges",
        "history_csv",
        "energy_units",
        "energy_previous",
        "energy_next",
        "energy_date",
        "energy_csv",
    }
