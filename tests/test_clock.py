"""The clock's words for people: how long ago."""

from __future__ import annotations

from corcypower.clock import age_text


def test_ages_read_as_people_say_them():
    assert age_text(12.4) == "12.4 s" and age_text(-1) == "0.0 s"
    assert age_text(300) == "5 min"
    assert age_text(3 * 3600) == "3.0 h"
    assert age_text(3 * 86_400) == "3 days"
