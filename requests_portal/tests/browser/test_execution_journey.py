"""Execution in a real browser: a customer's deletion approved by two people and run from the
admin ("Jalankan"), then read back in the database; and an access request whose package is
downloaded in the browser, opened, and its index.html shown."""

from __future__ import annotations

import re
import zipfile

import pytest
from django.db import models
from django.db.models import Q
from playwright.sync_api import expect

from merchants.datamap import BUYER
from merchants.models import LoyaltyCustomer, Sale
from messaging.models import OutboundMessage
from requests_portal.models import AccessPackage, DataSubjectRequest, RequestExecution, RequestMessage, State
from retention.registry import FieldErasure, datamap
from retention.selectors import subject_records
from retention.tests.conftest import build_shop

from ..conftest import submit, verify
from .test_officers import _fresh_counters, _log_in, _log_out, _member, _open_request, _take  # noqa: F401
from .test_request_journey import portal_links  # noqa: F401

pytestmark = pytest.mark.browser

TEXT_FIELDS = (models.CharField, models.TextField)


def _rows_naming(email: str, phone: str) -> dict[str, int]:
    """Per table of the data map (and its history), the rows any personal text column of which
    still holds her address or number: read column by column, not through the engine's lookups."""
    found = {}
    for entry in datamap.maps.values():
        for model in filter(None, (entry.model, getattr(entry, "history_model", None))):
            condition = Q(pk__in=[])
            for name in entry.personal:
                try:
                    field = model._meta.get_field(name)
                except Exception:  # a personal value held under another name in the history
                    continue
                if isinstance(field, TEXT_FIELDS):
                    condition |= Q(**{f"{field.attname}__iexact": email})
                    if phone:
                        condition |= Q(**{field.attname: phone})
            n = model._default_manager.filter(condition).count()
            if n:
                found[model._meta.db_table] = n
    return found


def _execute(page, request: DataSubjectRequest, shot, name: str):
    page.locator("a.dsr-action-execute").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(request.reference)
    shot(page, f"{name}-confirm")
    page.locator("#id_confirm").check()
    page.locator("input[type=submit].default").click()
    expect(page.locator(".messagelist")).to_be_visible()
    shot(page, f"{name}-done")


def test_an_approved_deletion_is_run_from_the_admin_and_her_data_is_gone(desktop, server, shot):
    page = desktop
    shop = build_shop()
    person = LoyaltyCustomer.objects.filter(merchant=shop).order_by("pk").first()
    email, phone = person.email, person.phone or ""
    her_sales = list(Sale.objects.filter(customer=person).values_list("pk", flat=True))
    sales_before = Sale.objects.filter(merchant=shop).count()
    assert her_sales and _rows_naming(email, phone)
    officer = _member("rina", "Compliance officer")
    _member("bagus", "Data protection officer")
    request = verify(submit(right="deletion", email=email, phone=phone, reason="Saya tidak belanja lagi."))

    _log_in(page, "rina")
    _open_request(page, request, shot, "officer")
    _take(page, "assign", shot, "assign")
    _take(page, "propose", shot, "propose", note="Tidak ada penahanan hukum; data penjualan dianonimkan.")
    expect(page.locator("a.dsr-action-execute")).to_have_count(0)  # not before the DPO approves
    _log_out(page)

    _log_in(page, "bagus")
    _open_request(page, request, shot, "dpo")
    _take(page, "approve", shot, "approve", note="Disetujui.")
    request.refresh_from_db()
    assert request.state == State.APPROVED and request.prepared_by == officer
    _log_out(page)

    _log_in(page, "rina")
    _open_request(page, request, shot, "executor")
    _execute(page, request, shot, "execute")  # the task runs in process: done when the page answers
    execution = RequestExecution.objects.get(request=request)
    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    request.refresh_from_db()
    assert request.state == State.COMPLETED
    page.reload()
    expect(page.locator("a.dsr-action-execute")).to_have_count(0)
    shot(page, "completed")

    # Her data is gone from every governed table, read column by column and by the data map's selector.
    assert _rows_naming(email, phone) == {}
    assert subject_records(email=email, phone=phone).total == 0
    # The shop's sales remain, their personal fields empty.
    assert Sale.objects.filter(merchant=shop).count() == sales_before
    sale_map = next(e for e in datamap.maps.values() if e.model is Sale)
    # Her fields on her purchases (the buyer's, not the cashier's): each emptied (or hashed, as the
    # data map declares), but those kept by the tax rule (receipt number, amounts, date).
    buyer = {name: p for name, p in sale_map.personal.items() if p.party == BUYER}
    emptied = [name for name, p in buyer.items() if p.erase is not FieldErasure.RETAIN]
    assert {"customer", "receipt_email", "receipt_phone"} <= set(emptied)
    sales = Sale.objects.filter(pk__in=her_sales)
    assert sales.count() == len(her_sales)
    for name in emptied:
        field = Sale._meta.get_field(name)
        assert not sales.filter(buyer[name].erase.pending(field.attname, field)).exists(), name
    for sale in sales:
        assert sale.customer_id is None and not sale.receipt_email and not sale.receipt_phone
        assert sale.receipt_number and sale.total is not None


def test_an_access_package_is_downloaded_opened_and_shown(desktop, server, portal_links, shot, tmp_path, settings):  # noqa: F811
    settings.PRIVATE_MEDIA_DIR = tmp_path / "private"
    page = desktop
    shop = build_shop()
    person = LoyaltyCustomer.objects.filter(merchant=shop).order_by("pk").first()
    _member("rina", "Compliance officer")
    request = verify(submit(right="access", email=person.email, reason="Saya ingin salinan data saya."))

    _log_in(page, "rina")
    _open_request(page, request, shot, "officer")
    _take(page, "assign", shot, "assign")
    _take(page, "approve", shot, "approve", note="Identitas terverifikasi.")
    request.refresh_from_db()
    assert request.state == State.APPROVED
    _execute(page, request, shot, "execute")
    request.refresh_from_db()
    assert request.state == State.COMPLETED
    _log_out(page)

    # The link she was sent, opened in the browser: the download is hers.
    execution = RequestExecution.objects.get(request=request)
    message = OutboundMessage.objects.get(
        pk=execution.steps["link"]["message"],
        pk__in=RequestMessage.objects.filter(request=request).values("message_id"),
    )
    url = re.search(r"https?://\S+/unduh/\S+", message.body).group(0)
    assert url.startswith(server.url)
    page.set_content(f'<p>{request.reference}</p><a id="unduh" href="{url}">Unduh paket data</a>')
    shot(page, "message-link")
    with page.expect_download() as info:
        page.locator("#unduh").click()
    download = info.value
    target = tmp_path / "paket.zip"
    download.save_as(target)
    assert AccessPackage.objects.get(request=request).downloads == 1

    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        index = next(n for n in names if n.rsplit("/", 1)[-1] == "index.html")
        html = archive.read(index).decode("utf-8")
        archive.extractall(tmp_path / "paket")
    assert any(n.endswith(".csv") for n in names) and any(n.endswith(".json") for n in names)
    page.set_content(html)
    expect(page.locator("body")).to_contain_text(request.reference)
    shot(page, "index-html")
