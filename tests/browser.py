"""Headless Chromium for the browser tests: the machine's own (never a downloaded build),
driven by Playwright; without one the test skips, or fails under REQUIRE_TEST_TOOLS=1."""

from __future__ import annotations

from tests.tools import CHROMIUM, need

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(*extra: str):
    """Yields a launched browser (for a fixture), closed after."""
    executable = need(CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright gives every launch a fresh, temporary user-data-dir.
        launched = p.chromium.launch(
            executable_path=executable, headless=True, args=[*ARGS, *extra]
        )
        yield launched
        launched.close()
