"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_unless(condition: bool, reason: str) -> None:
    """Skip on a laptop without the tool; under CI a missing tool is a failure, never a skip."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def code_blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of a Markdown text in one language, for the docs' tests."""
    import re

    return re.findall(rf"```{language}\n(.*?)```", text, re.S)
