"""The execution of an approved deletion request, step by step, on PostgreSQL."""

import pytest
from django.core import mail
from django.urls import reverse

from consent.models import ErasureNotice
from consent.services import notices as notices_module
from merchants.models import LoyaltyCustomer, Merchant, Sale
from requests_portal import services
from requests_portal.exceptions import RequestError
from requests_portal.models import DataSubjectRequest, RequestExecution, State
from requests_portal.services import execution as execution_module
from retention.exceptions import RetentionError
from retention.models import ChurnEvent, ErasureRun, PurgeSchedule
from retention.selectors import subject_records
from retention.services import hold_place
from retention.tests.conftest import build_shop


@pytest.fixture(autouse=True)
def _messages(settings, tmp_path):
    settings.PHONE_OUTBOX_DIR = tmp_path / "sms"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def approved_deletion(make_request, officer, dpo, *, email, phone="", role="customer") -> DataSubjectRequest:
    request = make_request(step="in_review", by=officer, right="deletion", email=email, phone=phone, subject_role=role)
    services.request_propose(request_id=request.pk, actor=officer)
    services.request_approve(request_id=request.pk, actor=dpo)
    request.refresh_from_db()
    assert request.state == State.APPROVED
    return request


@pytest.fixture
def executor(officer):
    return officer  # compliance officers hold execute_request


@pytest.fixture
def buyer(db):
    shop = build_shop()
    person = LoyaltyCustomer.objects.filter(merchant=shop).order_by("pk").first()
    return shop, person


def verbs(request):
    return list(request.events.order_by("seq").values_list("verb", flat=True))


def test_an_approved_deletion_is_executed_end_to_end(make_request, officer, dpo, executor, buyer):
    shop, person = buyer
    sales_before = Sale.objects.filter(merchant=shop).count()
    assert Sale.objects.filter(customer=person).exists()
    request = approved_deletion(make_request, officer, dpo, email=person.email, phone=person.phone)
    mail.outbox.clear()

    execution = services.request_execute(request_id=request.pk, actor=executor)

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    request.refresh_from_db()
    assert request.state == State.COMPLETED
    # Her data is gone from every governed table (the data map finds nothing), the shop's sales stay, anonymised.
    assert subject_records(email=person.email, phone=person.phone).total == 0
    assert not LoyaltyCustomer.objects.filter(pk=person.pk, email=person.email).exists()
    assert Sale.objects.filter(merchant=shop).count() == sales_before
    assert not Sale.objects.filter(customer_id=person.pk).exists()
    # Steps in order: notices and the summary before the erasure, completion last with the counts.
    steps = [v for v in verbs(request) if v.startswith("execution_") or v == "completed"]
    assert steps == [
        "execution_dry_run", "execution_skipped", "execution_notices", "execution_summary", "execution_summary",
        "execution_erasure", "completed",
    ]
    assert ErasureNotice.objects.filter(reference=request.reference).exists()
    completed = request.events.get(verb="completed")
    run = ErasureRun.objects.get(pk=execution.steps["erasure"]["run"])
    assert run.dry_run is False and run.state == ErasureRun.State.COMPLETED
    assert f"(total {sum(n for a in run.counts.values() for n in a.values())})" in completed.note
    # The summary was sent to her before the erasure began, and names what is kept and why.
    summary = [m for m in mail.outbox if request.reference in m.body and "disimpan" in m.body]
    assert len(summary) == 1 and summary[0].to == [person.email]
    assert "UU KUP" in summary[0].body or "pajak" in summary[0].body.lower()
    assert ErasureRun.objects.get(pk=execution.steps["dry_run"]["run"]).dry_run is True
    # The same counts before and after, but for the request's own records (its steps added events and messages).
    def shop_data(counts):
        return {t: a for t, a in counts.items() if not t.startswith(("requests_portal_", "messaging_"))}

    assert shop_data(execution.steps["dry_run"]["counts"]) == shop_data(execution.steps["erasure"]["counts"])


def test_an_owner_of_an_active_merchant_gets_an_account_closure(make_request, officer, dpo, executor, db):
    shop = build_shop()
    owner_email = "pemilik.toko@contoh.id"
    Merchant.objects.filter(pk=shop.pk).update(owner_email=owner_email)
    request = approved_deletion(make_request, officer, dpo, email=owner_email, role="owner")
    mail.outbox.clear()

    execution = services.request_execute(request_id=request.pk, actor=executor)

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    assert execution.mode == RequestExecution.Mode.CLOSURE
    assert ChurnEvent.objects.filter(merchant=shop, kind=ChurnEvent.Kind.CHURNED).count() == 1
    assert PurgeSchedule.objects.get(merchant=shop).state == PurgeSchedule.State.SCHEDULED
    assert not ErasureRun.objects.filter(kind=ErasureRun.Kind.SUBJECT_ERASURE, dry_run=False).exists()
    shop.refresh_from_db()
    assert shop.owner_email == owner_email and shop.churned_at is not None
    assert any("penutupan akun" in m.body for m in mail.outbox)
    request.refresh_from_db()
    assert request.state == State.COMPLETED


def test_a_failed_step_is_named_and_resumed_without_redoing_done_steps(
    make_request, officer, dpo, executor, buyer, monkeypatch,
):
    shop, person = buyer
    request = approved_deletion(make_request, officer, dpo, email=person.email, phone=person.phone)
    real = notices_module.erasure_notices_plan
    calls = {"n": 0}

    def broken_once(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("penerima tidak terjangkau")
        return real(**kwargs)

    monkeypatch.setattr(execution_module, "erasure_notices_plan", broken_once)

    execution = services.request_execute(request_id=request.pk, actor=executor)

    assert execution.state == RequestExecution.State.FAILED
    assert execution.step == "notices" and "penerima tidak terjangkau" in execution.error
    request.refresh_from_db()
    assert request.state == State.PROCESSING
    failed = request.events.filter(verb="execution_failed").get()
    assert "penerima tidak terjangkau" in failed.note
    assert LoyaltyCustomer.objects.filter(pk=person.pk, email=person.email).exists()  # nothing erased yet
    dry_runs = ErasureRun.objects.filter(dry_run=True).count()

    execution = services.request_execution_resume(request_id=request.pk, actor=executor)

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    assert ErasureRun.objects.filter(dry_run=True).count() == dry_runs  # the dry run was not done again
    assert verbs(request).count("execution_dry_run") == 1
    request.refresh_from_db()
    assert request.state == State.COMPLETED
    with pytest.raises(RequestError):
        services.request_execution_resume(request_id=request.pk, actor=executor)


def test_an_erasure_run_held_by_another_worker_is_waited_for_not_failed(
    make_request, officer, dpo, executor, buyer, monkeypatch,
):
    """The retention sweep's worker may be finishing her run when the execution comes back to
    it: the execution lets go (still running, a short lease) and completes on its next turn."""
    from django.utils import timezone

    from retention.services.runs import RunClaim

    shop, person = buyer
    request = approved_deletion(make_request, officer, dpo, email=person.email, phone=person.phone)
    real = execution_module.subject_erasure_continue
    taken = {}

    def start_then_taken(**kwargs):  # the run is started, and another worker takes it at once
        run = real_start(**kwargs)
        taken["claim"] = RunClaim.take(run.pk)
        return run

    real_start = execution_module.subject_erasure_start
    monkeypatch.setattr(execution_module, "subject_erasure_start", start_then_taken)

    execution = services.request_execute(request_id=request.pk, actor=executor)

    assert execution.state == RequestExecution.State.RUNNING and execution.claimed_by == ""
    assert execution.lease_until > timezone.now() and "state" not in execution.steps["erasure"]
    assert "execution_failed" not in verbs(request)
    assert services.request_executions_resume_stalled() == []  # not before its short lease ends

    # The other worker finishes; the execution's next turn takes the completed run as the outcome.
    run = ErasureRun.objects.get(pk=execution.steps["erasure"]["run"])
    ErasureRun.objects.filter(pk=run.pk).update(lease_until=timezone.now())
    assert real(run_id=run.pk).state == ErasureRun.State.COMPLETED
    execution = services.request_execute(request_id=request.pk)
    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    assert execution.steps["erasure"]["run"] == run.pk and execution.steps["erasure"]["state"] == "done"
    assert subject_records(email=person.email, phone=person.phone).total == 0


def _failed_erasure(make_request, officer, dpo, executor, buyer, monkeypatch, *, error="disk penuh"):
    """An execution whose erasure run failed (a real error) after hashing her request."""
    from retention import engine

    _shop, person = buyer
    request = approved_deletion(make_request, officer, dpo, email=person.email, phone=person.phone)
    real_run = engine.Erasure.run

    def fails(self):
        real_run(self)
        raise RuntimeError(error)

    monkeypatch.setattr(engine.Erasure, "run", fails)
    execution = services.request_execute(request_id=request.pk, actor=executor)
    monkeypatch.setattr(engine.Erasure, "run", real_run)
    assert execution.state == RequestExecution.State.FAILED and execution.step == "erasure"
    assert error in execution.error
    return request, person, ErasureRun.objects.get(pk=execution.steps["erasure"]["run"])


def test_a_failed_erasure_run_is_restarted_from_its_seal_when_the_execution_is_resumed(
    make_request, officer, dpo, executor, buyer, monkeypatch,
):
    """The erasure fails at its end (a database error, say), after her request was hashed: the
    officer's resume starts a new run from the failed one's sealed identifiers, not from the
    request (which no longer names her)."""
    from retention.pseudonyms import is_pseudonym

    request, person, failed = _failed_erasure(
        make_request, officer, dpo, executor, buyer, monkeypatch, error="koneksi basis data terputus",
    )
    request.refresh_from_db()
    assert is_pseudonym(request.email)  # nothing in the request names her now
    assert failed.state == ErasureRun.State.FAILED and failed.sealed_scope

    execution = services.request_execution_resume(request_id=request.pk, actor=executor)

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    retry = ErasureRun.objects.get(pk=execution.steps["erasure"]["run"])
    assert retry.retry_of_id == failed.pk and retry.state == ErasureRun.State.COMPLETED
    failed.refresh_from_db()
    assert failed.sealed_scope == "" and retry.sealed_scope == ""
    assert subject_records(email=person.email, phone=person.phone).total == 0


def test_a_run_the_dpo_retried_from_the_runs_admin_is_taken_up_by_the_execution(
    make_request, officer, dpo, executor, buyer, monkeypatch, django_capture_on_commit_callbacks,
):
    from retention.services import subject_erasure_retry

    request, person, failed = _failed_erasure(make_request, officer, dpo, executor, buyer, monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        retry = subject_erasure_retry(run_id=failed.pk, actor=dpo)  # the runs admin's action
    retry.refresh_from_db()
    assert retry.state == ErasureRun.State.COMPLETED

    execution = services.request_execution_resume(request_id=request.pk, actor=executor)

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    assert execution.steps["erasure"]["run"] == retry.pk  # adopted, not restarted a second time
    assert ErasureRun.objects.filter(retry_of=failed).count() == 1
    assert ErasureRun.objects.filter(retry_of=retry).count() == 0


def test_the_sweep_never_restarts_a_failed_erasure_on_its_own(
    make_request, officer, dpo, executor, buyer, monkeypatch,
):
    request, person, failed = _failed_erasure(make_request, officer, dpo, executor, buyer, monkeypatch)
    # As if the execution had been let go while its run failed elsewhere: the sweep's turn (no actor).
    RequestExecution.objects.filter(request=request).update(state=RequestExecution.State.RUNNING, claimed_by="")
    execution = services.request_execute(request_id=request.pk, actor=None)
    assert execution.state == RequestExecution.State.FAILED and "disk penuh" in execution.error
    assert not ErasureRun.objects.filter(retry_of=failed).exists()


def test_a_legal_hold_on_a_merchant_is_honoured_and_named(make_request, officer, dpo, executor, buyer):
    shop, person = buyer
    hold_place(actor=dpo, merchant_id=shop.pk, reason="dispute", detail="Sengketa di BANI")
    request = approved_deletion(make_request, officer, dpo, email=person.email, phone=person.phone)
    mail.outbox.clear()

    execution = services.request_execute(request_id=request.pk, actor=executor)

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    assert LoyaltyCustomer.objects.filter(pk=person.pk, email=person.email).exists()  # kept by the hold
    assert str(shop.pk) in execution.steps["erasure"]["kept"]
    summary = [m for m in mail.outbox if request.reference in m.body and "disimpan" in m.body]
    assert summary and str(shop.pk) in summary[0].body and "penahanan hukum" in summary[0].body.lower()


def test_a_hold_on_the_subject_fails_the_dry_run_with_the_hold_named(make_request, officer, dpo, executor, buyer):
    _shop, person = buyer
    hold = hold_place(actor=dpo, reason="fraud", detail="Laporan bank", subject_email=person.email)
    request = approved_deletion(make_request, officer, dpo, email=person.email, phone=person.phone)
    execution = services.request_execute(request_id=request.pk, actor=executor)
    assert execution.state == RequestExecution.State.FAILED and execution.step == "dry_run"
    assert f"#{hold.pk}" in execution.error


def test_permissions(make_request, officer, dpo, auditor, buyer, client):
    _shop, person = buyer
    request = approved_deletion(make_request, officer, dpo, email=person.email, phone=person.phone)
    with pytest.raises(RetentionError):
        services.request_execute(request_id=request.pk, actor=auditor)  # no execute_request
    with pytest.raises(RetentionError):
        services.request_execution_queue(request_id=request.pk, actor=auditor)
    request.refresh_from_db()
    assert request.state == State.APPROVED and not RequestExecution.objects.exists()

    client.force_login(auditor)
    page = client.get(reverse("admin:requests_portal_datasubjectrequest_change", args=[request.pk]))
    assert "Jalankan" not in page.content.decode()
    assert client.get(reverse("admin:requests_portal_datasubjectrequest_execute", args=[request.pk])).status_code == 403

    client.force_login(officer)
    page = client.get(reverse("admin:requests_portal_datasubjectrequest_change", args=[request.pk]))
    assert "Jalankan" in page.content.decode()
    confirm = client.get(reverse("admin:requests_portal_datasubjectrequest_execute", args=[request.pk]))
    assert confirm.status_code == 200 and "baris dihapus" in confirm.content.decode()


def test_the_admin_button_queues_the_task(make_request, officer, dpo, buyer, client, django_capture_on_commit_callbacks):
    _shop, person = buyer
    request = approved_deletion(make_request, officer, dpo, email=person.email, phone=person.phone)
    client.force_login(officer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("admin:requests_portal_datasubjectrequest_execute", args=[request.pk]), {"confirm": "on"},
        )
    assert response.status_code == 302
    assert len(callbacks) == 1


def test_every_step_the_services_record_reads_as_words_on_the_timeline():
    """Each verb a service writes (and each execution step's) has a label in both languages."""
    import re
    from pathlib import Path

    from django.utils import translation

    from requests_portal.admin.display import VERBS, verb_label

    written = set()
    for path in Path(execution_module.__file__).parent.glob("*.py"):
        for match in re.finditer(r'verb="([a-z_]+)"(?: if [^\n]*? else "([a-z_]+)")?', path.read_text()):
            written |= {v for v in match.groups() if v}
    written |= {f"execution_{step}" for step in ("dry_run", "closure", "notices", "summary", "erasure", "package")}
    assert {"correction_rejected", "package_downloaded", "execution_failed"} <= written
    assert sorted(written - set(VERBS)) == []
    with translation.override("en"):
        english = {verb: verb_label(verb) for verb in written}
    with translation.override("id"):
        untranslated = sorted(v for v in written if verb_label(v) == english[v])
    assert untranslated == []
