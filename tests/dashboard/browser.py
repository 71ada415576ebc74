"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright: never a downloaded browser."""

from __future__ import annotations

import shutil
import tempfile

from tests.helpers import skip_unless

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright):
    """A fresh headless Chromium with its own profile directory."""
    path = chromium_path()
    profile = tempfile.mkdtemp(prefix="corcypower-chromium-")
    return playwright.chromium.launch_persistent_context(
        profile, executable_path=path, headless=True, args=CHROMIUM_ARGS
    )


def require_browser():
    """Playwright and Chromium, or a skip (a failure under CI=true)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_unless(False, "playwright is not installed (pip install -e '.[browser]')")
    skip_unless(chromium_path() is not None, "chromium is not installed (apt-get install chromium)")


# Reading the page's Bokeh document from the browser
LIVE_TS = "() => { const s = Bokeh.documents[0].get_model_by_name('live'); return s.data.ts.length ? s.data.ts[s.data.ts.length - 1] : 0 }"
MODEL = "(name) => Bokeh.documents[0].get_model_by_name(name)"
