"""The access package: built streaming from the data map, served through its signed link,
deleted when the link ends or its subject is erased."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.models import Disclosure, Purpose, Recipient
from merchants.tests.factories import MerchantFactory, SaleFactory
from requests_portal import export, services, tasks
from requests_portal.exceptions import RequestError
from requests_portal.models import AccessDownload, AccessPackage, RequestEvent
from requests_portal.services.export import package_path, package_token
from retention.engine import Erasure, Scope

pytestmark = pytest.mark.django_db

SITI = "siti@example.test"


@pytest.fixture(autouse=True)
def private_dir(settings, tmp_path):
    settings.PRIVATE_MEDIA_DIR = tmp_path / "private"
    return settings.PRIVATE_MEDIA_DIR


@pytest.fixture
def shops(db):
    one = MerchantFactory(business_name="Warung Bu Drajat")
    two = MerchantFactory(business_name="Kopi Kenangan Bekasi")
    for shop, count in ((one, 3), (two, 2)):
        for _ in range(count):
            SaleFactory(merchant=shop, receipt_email=SITI)
    SaleFactory(merchant=one, receipt_email="budi@example.test")  # a bystander's purchase
    return one, two


@pytest.fixture
def disclosure(db):
    purpose = Purpose.objects.filter(categories__contains=["transaction"]).order_by("number").first()
    recipient = Recipient.objects.create(
        name="PT Bayar Cepat", kind=Recipient.Kind.PAYMENT, categories=["transaction", "contact"],
    )
    recipient.purposes.add(purpose)
    return Disclosure.objects.create(
        recipient=recipient, email=SITI, categories=["transaction"], purpose=purpose, basis=purpose.basis,
        occurred_at=timezone.now(), outcome=Disclosure.Outcome.ALLOWED,
    )


def approved(make_request, officer, **overrides):
    request = make_request(step="in_review", by=officer, **{"email": SITI, **overrides})
    services.request_approve(request_id=request.pk, actor=officer)
    return request


def opened(package) -> zipfile.ZipFile:
    return zipfile.ZipFile(package_path(package))


def test_access_package_holds_each_table_per_shop_as_json_and_csv_with_index(make_request, officer, shops,
                                                                              disclosure, private_dir):
    one, two = shops
    request = approved(make_request, officer)
    package = services.access_package_build(request_id=request.pk)

    path = package_path(package)
    assert path.is_relative_to(private_dir) and path.exists()
    assert package.size == path.stat().st_size
    import hashlib

    assert package.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert package.expires_at - package.created_at == timedelta(days=7)
    with opened(package) as archive:
        names = archive.namelist()
        sales = {n for n in names if "/sale__" in n}
        assert {n.rsplit(".", 1)[1] for n in sales} == {"json", "csv"}
        assert any(n.startswith(f"merchant-{one.pk}-warung-bu-drajat/sale__") for n in sales)
        assert any(n.startswith(f"merchant-{two.pk}-") for n in sales)
        assert all("transaction" in n for n in sales)
        rows_one = json.loads(archive.read(next(n for n in sales if n.startswith(f"merchant-{one.pk}-") and n.endswith("json"))))
        assert len(rows_one) == 3 and {r["receipt_email"] for r in rows_one} == {SITI}
        csv_two = next(n for n in sales if n.startswith(f"merchant-{two.pk}-") and n.endswith("csv"))
        table = list(csv.DictReader(io.StringIO(archive.read(csv_two).decode())))
        assert len(table) == 2 and table[0]["receipt_email"] == SITI
        assert any(n.startswith("junopos-privacy/datasubjectrequest__") for n in names)  # her own request
        assert "budi@example.test" not in "".join(archive.read(n).decode(errors="ignore") for n in names)
        index = archive.read("index.html").decode()
        readme = archive.read("README.txt").decode()
    for text in (index, readme):
        assert "Transaksi" in text and "Kontak" in text  # categories, in her language (Indonesian)
        assert disclosure.purpose.name_id in text and "Pelaksanaan perjanjian" in text or "Persetujuan" in text
        assert "PT Bayar Cepat" in text  # the recipient, and the disclosure made to it
        assert "Struk penjualan; disimpan 10 tahun" in text  # where it came from (the data map)
        assert "10" in text and "tahun" in text  # how long it is kept (tax-records)
        assert "sampai dihapus" in text  # a table kept until erasure
        assert "Disetujui" in text  # the request's own timeline
    assert RequestEvent.objects.filter(request=request, verb="package_built").exists()


def test_index_is_in_the_requester_s_language(make_request, officer, shops):
    request = approved(make_request, officer, language="en")
    package = services.access_package_build(request_id=request.pk)
    with opened(package) as archive:
        index = archive.read("index.html").decode()
    assert 'lang="en"' in index


def test_portability_holds_the_machine_readable_files_alone(make_request, officer, shops):
    request = approved(make_request, officer, right="portability")
    package = services.access_package_build(request_id=request.pk)
    with opened(package) as archive:
        names = archive.namelist()
    assert names and all(n.endswith((".json", ".csv")) for n in names)


def test_rows_are_read_in_chunks_with_flat_memory(make_request, officer, shops, monkeypatch):
    monkeypatch.setattr(export, "CHUNK_SIZE", 2)  # three sales at one shop: two pages
    request = approved(make_request, officer, right="portability")
    package = services.access_package_build(request_id=request.pk)
    with opened(package) as archive:
        name = next(n for n in archive.namelist() if f"merchant-{shops[0].pk}-" in n and "/sale__" in n
                    and n.endswith(".json"))
        assert len(json.loads(archive.read(name))) == 3


def test_only_an_approved_access_request_gets_a_package(make_request, officer, shops):
    request = make_request(step="in_review", by=officer, email=SITI)
    with pytest.raises(RequestError):
        services.access_package_build(request_id=request.pk)
    assert not AccessPackage.objects.exists()


# -- the signed link ---------------------------------------------------------------------------


@pytest.fixture
def package(make_request, officer, shops):
    request = approved(make_request, officer)
    return services.access_package_build(request_id=request.pk)


def url(package_or_token) -> str:
    token = package_or_token if isinstance(package_or_token, str) else package_token(package_or_token)
    return reverse("portal:package_download", args=[token])


def test_five_downloads_are_served_and_recorded_the_sixth_refused(client, package):
    for n in range(1, 6):
        response = client.get(url(package), REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert AccessDownload.objects.filter(package=package, ip="203.0.113.7").count() == 5
    response = client.get(url(package))
    assert response.status_code == 410
    # Nothing served: a page, not a ZIP (whose first bytes are PK\x03\x04; "PK" alone may appear in a page).
    assert not hasattr(response, "streaming_content") and not response.content.startswith(b"PK\x03\x04")
    assert b"PK\x03\x04" not in response.content
    package.refresh_from_db()
    assert package.downloads == 5
    assert RequestEvent.objects.filter(request=package.request, verb="package_downloaded").count() == 5


def test_an_expired_link_is_refused(client, package):
    AccessPackage.objects.filter(pk=package.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(url(package))
    assert response.status_code == 410
    assert "kedaluwarsa" in response.content.decode()
    assert not AccessDownload.objects.exists()


def test_the_refusal_page_is_in_the_visitor_s_language(client, package):
    AccessPackage.objects.filter(pk=package.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(url(package), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410


def test_a_tampered_token_is_refused(client, package):
    token = package_token(package)
    response = client.get(url(token[:-2] + ("AA" if not token.endswith("AA") else "BB")))
    assert response.status_code == 404
    assert not AccessDownload.objects.exists()
    # A status link's token (another salt) opens no package either.
    from requests_portal.notifications import status_token

    assert client.get(url(status_token(package.request))).status_code == 404


def test_a_token_for_one_package_does_not_open_another(client, make_request, officer, package):
    other = approved(make_request, officer, email="budi@example.test", requester_name="Budi")
    theirs = services.access_package_build(request_id=other.pk)
    response = client.get(url(package))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == package_path(package).read_bytes()
    assert package_path(package).read_bytes() != package_path(theirs).read_bytes()
    theirs.refresh_from_db()
    assert theirs.downloads == 0 and not AccessDownload.objects.filter(package=theirs).exists()


def test_a_deleted_package_is_refused(client, package):
    services.access_package_files_delete(AccessPackage.objects.filter(pk=package.pk))
    assert client.get(url(package)).status_code == 410


# -- expiry and erasure ------------------------------------------------------------------------


def test_the_expiry_task_deletes_ended_files_and_is_safe_twice(package, make_request, officer):
    live = services.access_package_build(request_id=approved(make_request, officer, email="budi@example.test").pk)
    AccessPackage.objects.filter(pk=package.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert tasks.access_packages_expire.delay().get() == 1
    assert not package_path(package).exists() and package_path(live).exists()
    package.refresh_from_db()
    assert package.deleted_at is not None
    assert tasks.access_packages_expire.delay().get() == 0


def test_erasure_of_the_subject_deletes_her_packages_and_the_dry_run_counts_them(package, make_request, officer):
    other = services.access_package_build(request_id=approved(make_request, officer, email="budi@example.test").pk)
    key = f"{AccessPackage._meta.db_table}:file"
    assert Erasure(Scope.subject(email=SITI)).count()[key] == {"deleted": 1}
    assert package_path(package).exists()  # the dry run deletes nothing

    result = Erasure(Scope.subject(email=SITI)).run()
    assert result.completed and result.counts[key] == {"deleted": 1}
    assert not package_path(package).exists() and package_path(other).exists()
    package.refresh_from_db()
    assert package.deleted_at is not None
    assert key not in Erasure(Scope.subject(email=SITI)).count()  # a second run finds nothing
