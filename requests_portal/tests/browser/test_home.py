"""The home page in a real browser: Indonesian first on a phone, English through the switcher,
styled by the portal's own stylesheet, and nothing fetched from another site."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SCROLL_WIDTH = "document.documentElement.scrollWidth"


def _foreign(page, live_server):
    return [url for url in page.requested if not url.startswith(live_server.url + "/")]


def test_home_on_a_phone_in_indonesian_then_english(phone, live_server, shot):
    page = phone
    page.goto("/")
    shot(page, "home-indonesian")

    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hak Anda atas data pribadi di JUNOPOS")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Hak-hak Anda", exact=True)).to_be_visible()
    expect(page.get_by_text("3 x 24 jam").first).to_be_visible()
    assert page.evaluate(SCROLL_WIDTH) <= 360, "the page scrolls sideways on a 360 px phone"
    # The stylesheet came from the live server and applies: a comfortable touch target.
    assert f"{live_server.url}/static/portal/portal.css" in page.requested
    english = page.get_by_role("button", name="English")
    expect(english).to_have_css("min-height", "44px")

    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/i18n/setlang/")):
        english.click()
    expect(page).to_have_url(f"{live_server.url}/en/")
    shot(page, "home-english")

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your rights over your personal data at JUNOPOS")
    expect(page.get_by_role("heading", name="Your rights", exact=True)).to_be_visible()
    expect(page.get_by_text("3 x 24 hours").first).to_be_visible()
    expect(page.get_by_text("Hak Anda atas data pribadi")).to_have_count(0)
    expect(page.get_by_role("button", name="Bahasa Indonesia")).to_be_visible()
    assert page.evaluate(SCROLL_WIDTH) <= 360, "the English page scrolls sideways on a 360 px phone"

    assert _foreign(page, live_server) == []


def test_home_on_a_desktop(desktop, live_server, shot):
    page = desktop
    page.goto("/en/")
    shot(page, "home-english")

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # Styled: the page's wash behind the content, not a browser's default white.
    expect(page.locator("body")).to_have_css("background-color", "rgb(243, 245, 248)")
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-current", "true")
    assert page.evaluate(SCROLL_WIDTH) <= 1280
    expect(page).to_have_title(re.compile("JUNO Privacy"))
    assert _foreign(page, live_server) == []
