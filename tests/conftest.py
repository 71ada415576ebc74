"""Fixtures shared by every test: configs on disk for the emulated chip."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

EMULATED = """
[adc]
chip = "emulated"
[emulator]
chip = "mcp3208"
seed = 7
[store]
path = "{db}"
commit_seconds = {commit}
[[channels]]
name = "mains_v"
adc_channel = 1
kind = "voltage"
scale = 0.25
[[channels]]
name = "main"
adc_channel = 0
kind = "current"
scale = 0.02
voltage = "mains_v"
"""


@pytest.fixture
def emulated_config(tmp_path):
    """Write an emulated-chip config next to a fresh database; returns the config's path."""

    def make(extra: str = "", commit: float = 60.0) -> Path:
        path = tmp_path / "config.toml"
        text = EMULATED.format(db=tmp_path / "power.db", commit=commit)
        path.write_text(textwrap.dedent(text) + textwrap.dedent(extra))
        return path

    return make
