"""The health section: ADC diagnostics, refreshed every few seconds or when a flag changes."""

from __future__ import annotations

import time

from tests.dashboard.helpers import batch, build_page

NOW = int(time.time() * 1000)


def test_health_is_refreshed_every_few_seconds_or_when_a_flag_changes(tmp_path):
    page = build_page(tmp_path / "none.db", [batch(NOW)])
    health = page.doc.get_model_by_name("health")
    assert "<td>main</td>" in health.text
    shown = health.text
    page.on_batches([batch(NOW + 500, main_w=1.0)])
    assert health.text == shown  # within HEALTH_EVERY_S, nothing new to say
    page.on_batches([batch(NOW + 1000, flags=2)])
    assert "flat: no signal" in health.text
