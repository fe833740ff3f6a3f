"""Browser tests: Debian's Chromium driven through Playwright's sync API, against pytest-django's
`live_server` (marker `browser`).

Playwright never downloads a browser: it launches the Chromium that scripts/test installs
(Debian's `chromium`, `CHROMIUM_PATH`, default /usr/bin/chromium). Without it the browser tests
are skipped, except under CI=true, where they fail.

Fixtures:

- `browser` (session): the headless Chromium;
- `server`: pytest-django's `live_server` (its `.url`), with the seeded rows (below) and the
  test's settings (plain HTTP, static files served from the apps);
- `phone`, `desktop`: a fresh page (its own context: no cookie from another test) opened on the
  live server (`page.goto("/")` is relative to it), as a phone (360x740 CSS pixels, scale 2,
  touch) or a desktop (1280x900), both in Indonesian (id-ID) and on Jakarta time. Every URL the
  page asks for is recorded in `page.requested` (in order); requests to any other host than the
  live server are aborted (they are recorded too, so that a test can assert there was none);
- `shot`: `shot(page, name)` saves a full-page screenshot of each step of the test, as
  var/screenshots/browser/<test name>/<nn>-<name>.png (the folder is emptied when the test
  starts, so it always holds the steps of the last run).

The live server answers from another thread with its own database connection, so what a test
writes must be committed: every browser test runs with `transactional_db`, whose flush at the
end empties the tables, the rows the data migrations seed included. The page fixtures put those
back first (`reseed`: junoprivacy.testing's SEEDING_MIGRATIONS, the officers' groups included), and
pytest_runtest_teardown below puts them back again after the flush, for the tests that follow.
A test body may use the ORM (see `_browser_turn`).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "var" / "screenshots" / "browser"
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in containers and CI, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
]
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
# The portal's public: Indonesian first, in Indonesia's western time zone (as settings).
AUDIENCE = {"locale": "id-ID", "timezone_id": "Asia/Jakarta"}

# Only Debian's Chromium is ever used; never let Playwright fetch one of its own.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM_PATH, os.X_OK):
        reason = (
            f"the browser tests need Chromium at {CHROMIUM_PATH}: Debian's package `chromium` "
            "(scripts/test installs it when run as root; or apt-get install chromium, or set "
            "CHROMIUM_PATH)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI: {reason}", pytrace=False)
        pytest.skip(reason)

    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
        )
    except BaseException:
        playwright.stop()
        raise
    finally:
        asyncio._set_running_loop(None)  # see _browser_turn
    yield chromium
    asyncio._set_running_loop(chromium._loop)
    try:
        chromium.close()
        playwright.stop()
    finally:
        asyncio._set_running_loop(None)


@pytest.fixture
def _browser_turn(browser):
    """Hands the main thread to Playwright for the time of one test.

    Playwright's sync API runs an asyncio event loop in this (the main) thread, and expects the
    loop marked as running in this thread between its calls (it marks it after each call:
    playwright/_impl/_greenlets.py, wait_for_future). Django takes every ORM call from a thread
    with a running loop for a call from async code and raises SynchronousOnlyOperation: the
    bodies of the browser tests would, which write what the live server is to show. Nothing
    async runs in this thread but Playwright's own messages, so for the time of the test Django's
    check is off (DJANGO_ALLOW_ASYNC_UNSAFE). Before and after, the loop is not marked and the
    variable not set: the setup and flush of the database and the rest of the suite run with the
    check (and subprocesses do not inherit the variable: `check --deploy` refuses it, async.E001).

    While the loop is marked, Django also keeps its database connections apart from the thread's
    usual ones (asgiref's thread-critical Local is a context variable then): the test body has
    connections of its own, autocommitting, closed here when the test ends.
    """
    from django.db import connections

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    asyncio._set_running_loop(browser._loop)
    yield
    asyncio._set_running_loop(browser._loop)
    connections.close_all()
    asyncio._set_running_loop(None)
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _open_page(browser, live_server, options):
    context = browser.new_context(base_url=live_server.url, **AUDIENCE, **options)
    origin = urlsplit(live_server.url)

    def stay_home(route):
        # Nothing leaves this machine: a request to another host is aborted (and recorded
        # in page.requested by the listener below, so the test sees it).
        url = urlsplit(route.request.url)
        if (url.scheme, url.netloc) == (origin.scheme, origin.netloc):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", stay_home)
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    return context, page


def _load_middleware(live_server) -> None:
    """Builds the live server's middleware anew from the settings as they are now.

    The server is the session's: Django builds its middleware once, when the first test that
    needs it starts it, and some middleware reads its settings then (SecurityMiddleware: the
    HTTPS redirect and HSTS; WhiteNoise: STATIC_ROOT), before any test's overrides (the root
    conftest's plain HTTP). Called between requests, while the server is idle.
    """
    handler = live_server.thread.httpd.get_app()  # static files > media files > WSGIHandler
    while hasattr(handler, "application"):
        handler = handler.application
    with warnings.catch_warnings():
        # WhiteNoise, when the settings are the process's again: no collectstatic in the tests.
        warnings.filterwarnings("ignore", r"No directory at", UserWarning)
        handler.load_middleware()


def reseed() -> None:
    """Puts back every row the data migrations seed (junoprivacy.testing), groups and grants too."""
    from junoprivacy.testing import reseed_migrated_data

    reseed_migrated_data()


@pytest.fixture
def server(transactional_db, live_server):
    """The live server, with the rows the data migrations seed (as the root conftest's `seeded`,
    and the officers' groups), answering as the test's settings say (plain HTTP, static files
    from the apps)."""
    reseed()
    _load_middleware(live_server)
    return live_server


@pytest.fixture
def phone(browser, server, _browser_turn):
    context, page = _open_page(browser, server, PHONE)
    yield page
    context.close()


@pytest.fixture
def desktop(browser, server, _browser_turn):
    context, page = _open_page(browser, server, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def shot(request):
    """`shot(page, name)`: a full-page screenshot of this step of the test, numbered in order."""
    folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    taken = 0

    def take(page, name: str) -> Path:
        nonlocal taken
        taken += 1
        path = folder / f"{taken:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # After the test's fixtures are torn down, leave the session as the tests that follow
    # expect it (at the end of the session there is nothing to leave: the test database and
    # the live server are gone):
    # - the flush of transactional_db (torn down last: pytest-django requests it first, for
    #   live_server) emptied what the data migrations seeded: put it back;
    # - the live server's middleware was built under this test's settings: build it again
    #   under the process's, as a later test that starts the server would find it.
    server = (getattr(item, "funcargs", None) or {}).get("server")
    try:
        return (yield)
    finally:
        if server is not None and nextitem is not None:
            from pytest_django.plugin import blocking_manager_key

            with item.config.stash[blocking_manager_key].unblock():
                reseed()
            _load_middleware(server)
