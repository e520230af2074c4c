"""The system Chromium for the browser tests, driven by Playwright for Python.

`playwright install` cannot download browsers here, so the tests use the
distribution's Chromium (`apt-get install chromium`, which `.ci/run` does when it
is missing) or CREWGATE_CHROMIUM. Without one, `browser` tests skip locally and
fail under CREWGATE_REQUIRE_BROWSER=1, as in CI.
"""

import functools
import os
import shutil
from typing import Any

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_path() -> str | None:
    configured = os.environ.get("CREWGATE_CHROMIUM")
    if configured:
        return configured
    return next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)


@functools.cache
def browser_missing() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: `make install` installs the test extras"
    if chromium_path() is None:
        return "no Chromium: `apt-get install chromium` (or set CREWGATE_CHROMIUM to its path)"
    return None


def launch(playwright: Any) -> Any:
    """A headless Chromium with no network of its own beyond what the page asks for."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=ARGS, headless=True)
