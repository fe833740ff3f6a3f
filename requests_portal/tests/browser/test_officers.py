"""Officers in a real browser: a compliance officer and a data protection officer log in to the
admin and take a customer's deletion to approved, four eyes, each step through the buttons the
request page offers them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from playwright.sync_api import expect

from requests_portal.models import DataSubjectRequest, State

from ..conftest import submit, verify

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()  # login throttling and rate limits count on the test Redis
    yield
    cache.clear()


def _member(username: str, group: str) -> User:
    user = User.objects.create_user(username, f"{username}@junopos.test", f"{username}-sandi-2026", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def _log_in(page, username: str):
    page.goto("/admin/login/?next=/admin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(f"{username}-sandi-2026")
    page.locator("input[type=submit]").click()
    expect(page.locator("#user-tools")).to_contain_text(username)


def _log_out(page):
    page.locator("#logout-form button").click()


def _open_request(page, request: DataSubjectRequest, shot, name: str):
    page.goto("/admin/requests_portal/datasubjectrequest/")
    row = page.locator("#result_list tbody tr", has_text=request.reference)
    expect(row).to_be_visible()
    shot(page, f"{name}-queue")
    row.get_by_role("link", name=request.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(request.reference)


def _take(page, action: str, shot, name: str, *, note: str = ""):
    page.locator(f"a.dsr-action-{action}").click()
    if note:
        page.locator("textarea").first.fill(note)
    shot(page, f"{name}-form")
    page.locator("input[type=submit].default").click()
    expect(page.locator(".messagelist")).to_be_visible()
    shot(page, f"{name}-done")


def test_an_officer_and_the_dpo_take_a_deletion_to_approved(desktop, server, shot):
    page = desktop
    officer = _member("rina", "Compliance officer")
    dpo = _member("bagus", "Data protection officer")
    request = verify(submit(right="deletion", email="pelanggan@contoh.test", reason="Saya tidak belanja lagi."))
    assert request.state == State.VERIFIED

    _log_in(page, "rina")
    shot(page, "officer-index")
    _open_request(page, request, shot, "officer")
    # The officer may assign, ask, extend, refuse, mark a duplicate; approval is not hers alone.
    expect(page.locator("a.dsr-action-approve")).to_have_count(0)
    _take(page, "assign", shot, "assign")
    request.refresh_from_db()
    assert request.state == State.IN_REVIEW and request.assignee == officer
    _take(page, "propose", shot, "propose", note="Tidak ada penahanan hukum; data penjualan dianonimkan.")
    expect(page.locator("body")).to_contain_text(re.compile("DPO"))
    expect(page.locator("a.dsr-action-approve")).to_have_count(0)  # never the one who proposed
    _log_out(page)

    _log_in(page, "bagus")
    _open_request(page, request, shot, "dpo")
    _take(page, "approve", shot, "approve", note="Disetujui.")
    request.refresh_from_db()
    assert request.state == State.APPROVED and request.prepared_by == officer
    verbs = list(request.events.values_list("verb", "actor__username"))
    assert ("proposed", "rina") in verbs and ("approved", "bagus") in verbs
    # The queue now shows it approved, waiting for execution.
    page.goto("/admin/requests_portal/datasubjectrequest/?state=approved")
    expect(page.locator("#result_list")).to_contain_text(request.reference)
    shot(page, "approved-in-queue")
    assert dpo.pk != officer.pk
