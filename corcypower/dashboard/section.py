"""A section of the page: the unit the page is made of, and what a new section implements.

The page (page.py) builds the sections of SECTIONS in order, one under the other, and calls
their hooks; a section never reaches into another. To add one (an alerts list, a phase
balance, a house view), subclass Section, implement layout() and whichever hooks it needs,
and add the class to page.SECTIONS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bokeh.models import LayoutDOM

    from corcypower.dashboard.page import Page


class Section:
    """One part of the page. `page` gives the shared pieces: its document, the Dashboard
    (config, view, poller, query threads, clock), div(), run() and download()."""

    name = "section"  # the name of the section's column in the document: unique

    def __init__(self, page: Page):
        self.page = page

    @classmethod
    def wanted(cls, app) -> bool:
        """Whether the page of this Dashboard shows the section (its settings may say not)."""
        return True

    def layout(self) -> LayoutDOM:
        """The section's models, built once (called by the page, in the order of SECTIONS)."""
        raise NotImplementedError

    def start(self) -> None:
        """Once every section is in the document: first queries, periodic callbacks."""

    def first_paint(self) -> str | None:
        """Optional, for the first section: what it shows now as plain HTML (the Divs' own
        classes, cards.STYLE applies), put in the page's HTML by the server, so the browser
        shows it before BokehJS has loaded; removed once BokehJS has drawn the document.
        None: nothing."""
        return None

    def complete(self) -> None:
        """Optional, for the first section: once the browser has drawn it, add the models
        layout() left out to be drawn sooner (its plots, say). Called once, before start()
        of the sections after it."""

    def prepare(self, batches: list[dict]) -> Any:
        """What new batches change in this section, made once for every tab (no Bokeh models
        of this tab here: the result is shared). None: nothing to show."""
        return None

    def show(self, prepared: Any) -> None:
        """Draw what prepare() made, in this tab."""

    def tick(self, seconds_since_data: float | None) -> None:
        """Every second: how long ago the last batch arrived (None: none yet)."""
