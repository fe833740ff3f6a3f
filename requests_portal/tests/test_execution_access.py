"""The execution of an approved access or portability request: package, link to her, completion."""

import io
import re
import zipfile

import pytest
from django.urls import reverse

from merchants.tests.factories import MerchantFactory, SaleFactory
from messaging.models import OutboundMessage
from requests_portal import services, tasks
from requests_portal.exceptions import TransitionRefused
from requests_portal.models import AccessPackage, RequestExecution, RequestMessage, State
from requests_portal.services import execution as execution_module
from requests_portal.services import export as export_module

pytestmark = pytest.mark.django_db

SITI = "siti.akses@example.test"


@pytest.fixture(autouse=True)
def _private(settings, tmp_path):
    settings.PRIVATE_MEDIA_DIR = tmp_path / "private"
    settings.PHONE_OUTBOX_DIR = tmp_path / "sms"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def purchases(db):
    shop = MerchantFactory(business_name="Warung Bu Drajat")
    for _ in range(3):
        SaleFactory(merchant=shop, receipt_email=SITI)
    return shop


def approved(make_request, officer, *, right="access", language="id"):
    request = make_request(step="in_review", by=officer, right=right, email=SITI, language=language)
    services.request_approve(request_id=request.pk, actor=officer)
    request.refresh_from_db()
    assert request.state == State.APPROVED
    return request


def test_an_approved_access_request_is_executed_into_a_package_a_link_and_completion(
    make_request, officer, purchases, client,
):
    request = approved(make_request, officer)

    execution = services.request_execute(request_id=request.pk, actor=officer)

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    assert execution.mode == "access"
    request.refresh_from_db()
    assert request.state == State.COMPLETED
    package = AccessPackage.objects.get(request=request)
    assert execution.steps["package"]["package"] == package.pk
    steps = [v for v in request.events.order_by("seq").values_list("verb", flat=True)
             if v.startswith("execution_") or v in ("processing", "package_built", "completed")]
    assert steps == ["processing", "package_built", "execution_package", "execution_link", "completed"]
    # One message tells her the signed link, valid 7 days and 5 downloads, in her language.
    message = OutboundMessage.objects.get(pk=execution.steps["link"]["message"])
    assert message.to_email == SITI
    # The link as sent (a signed token carries its time: rebuilt a second later it would differ).
    path = re.search(r"https?://[^/\s]+(/permintaan/unduh/[^/\s]+/)", message.body).group(1)
    assert export_module.package_id_from_token(path.split("/")[-2]) == package.pk
    assert "5 kali" in message.body and request.reference in message.body
    # The link downloads a ZIP that opens, with her purchases in it.
    response = client.get(path)
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    assert "index.html" in {name.rsplit("/", 1)[-1] for name in archive.namelist()}
    assert any(SITI in archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def test_a_portability_request_in_english_gets_the_link_in_english(make_request, officer, purchases):
    request = approved(make_request, officer, right="portability", language="en")

    execution = services.request_execute(request_id=request.pk, actor=officer)

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    message = OutboundMessage.objects.get(pk=execution.steps["link"]["message"])
    package = AccessPackage.objects.get(request=request)
    # The link in her language that opens her package (read from the message, never rebuilt).
    token = re.search(r"/en/permintaan/unduh/([^/\s]+)/", message.body).group(1)
    assert export_module.package_id_from_token(token) == package.pk
    assert message.body.startswith("Dear ")


def test_a_second_execute_does_nothing(make_request, officer, purchases):
    request = approved(make_request, officer)
    services.request_execute(request_id=request.pk, actor=officer)
    events = request.events.count()
    messages = RequestMessage.objects.filter(request=request).count()

    with pytest.raises(TransitionRefused):
        services.request_execution_queue(request_id=request.pk, actor=officer)
    with pytest.raises(TransitionRefused):
        services.request_execute(request_id=request.pk, actor=officer)
    assert tasks.request_execute(request.pk, officer.pk) is None  # a redelivered task: nothing to do

    assert AccessPackage.objects.filter(request=request).count() == 1
    assert request.events.count() == events
    assert RequestMessage.objects.filter(request=request).count() == messages


def test_a_failed_link_step_resumes_without_building_again(make_request, officer, purchases, monkeypatch):
    request = approved(make_request, officer)

    def broken(request, package):
        raise RuntimeError("kotak surat tidak tersedia")

    monkeypatch.setattr(execution_module, "link_text", broken)
    execution = services.request_execute(request_id=request.pk, actor=officer)
    assert execution.state == RequestExecution.State.FAILED and execution.step == "link"
    assert "kotak surat" in execution.error
    monkeypatch.undo()

    execution = services.request_execution_resume(request_id=request.pk, actor=officer)

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    assert AccessPackage.objects.filter(request=request).count() == 1
    assert RequestMessage.objects.filter(request=request, message__body__contains="http").count() >= 1


def test_a_package_built_before_a_crash_is_not_built_again(make_request, officer, purchases, monkeypatch):
    request = approved(make_request, officer)
    built = services.access_package_build(request_id=request.pk)  # as if the worker died before recording it
    calls = []
    monkeypatch.setattr(execution_module, "access_package_build", lambda **kw: calls.append(kw))

    execution = services.request_execute(request_id=request.pk, actor=officer)

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    assert calls == [] and execution.steps["package"]["package"] == built.pk


def test_the_admin_offers_jalankan_for_an_approved_access_request(make_request, officer, purchases, client):
    request = approved(make_request, officer)
    client.force_login(officer)
    page = client.get(reverse("admin:requests_portal_datasubjectrequest_change", args=[request.pk]))
    execute = reverse("admin:requests_portal_datasubjectrequest_execute", args=[request.pk])
    assert execute in page.content.decode()
    confirm = client.get(execute)
    assert confirm.status_code == 200 and "Paket data" in confirm.content.decode()
