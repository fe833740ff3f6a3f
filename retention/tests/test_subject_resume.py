"""A subject erasure outlives the worker that started it: her identifiers are sealed on the run
(retention/seal.py) until it completes, so the sweep resumes it, a hold placed meanwhile stops
it, and a person retries a failed or stopped one. What an attacker or a careless operator could
do to the seal (read it, alter it, rotate the key away) is tried too. The auditor's version, a
kill after her requests are hashed and every table read afterwards, is in test_audit.py."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from merchants.models import LoyaltyCustomer
from retention import services
from retention.engine import Erasure, Scope
from retention.exceptions import NotPermitted, RetentionError
from retention.models import ErasureRun, LegalHold
from retention.seal import SealBroken, seal, unseal
from retention.selectors import subject_records
from retention.services.plan import SUBJECT_RUN_ABANDONED
from retention.services.runs import RunClaim, run_erasure
from retention.services.subject import subject_erasure_continue, subject_erasure_start

from .conftest import build_shop, member_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Call a service and run what it queued on commit (in process, as the eager worker would):
    these tests' own transaction never commits."""

    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = service(**kwargs)
        return result

    return call


class Killed(Exception):
    """A worker's death mid-batch: that batch rolls back, the committed ones stay."""


@pytest.fixture
def person(db):
    shop = build_shop(customers=2, sales=12)
    customer = LoyaltyCustomer.objects.filter(merchant=shop).order_by("pk").first()
    return {"email": customer.email, "phone": customer.phone}


def killed_after(run: ErasureRun, person: dict, batches: int) -> ErasureRun:
    """Start the run on a 'worker' that dies in its batch number `batches` + 1, lease run out."""
    claim = RunClaim.take(run.pk)
    done = []

    def progress(rows):
        done.append(rows)
        if len(done) > batches:
            raise Killed

    with pytest.raises(Killed):
        run_erasure(claim, Erasure(Scope.subject(**person), batch_size=1), remaining=run.rows_total,
                    on_progress=progress)
    ErasureRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    run.refresh_from_db()
    assert run.state == ErasureRun.State.RUNNING and run.rows_done == batches
    return run


# -- the seal ----------------------------------------------------------------------------------


def test_a_seal_opens_to_what_was_sealed_and_shows_none_of_it():
    values = {"email": "siti.rahayu@gmail.com", "phone": "+6281234567890", "merchant": None}
    token = seal(values)
    assert unseal(token) == values
    assert "siti" not in token.casefold() and "6281234567890" not in token
    assert seal(values) != token  # a fresh IV each time: equal scopes are not recognisable


def test_a_tampered_or_foreign_seal_is_refused_whole(settings):
    token = seal({"email": "siti.rahayu@gmail.com"})
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    for broken in (tampered, "", "not-a-token"):
        with pytest.raises(SealBroken):
            unseal(broken)
    settings.ERASURE_SEAL_KEYS = ["kunci-lain-" + "x" * 40]
    with pytest.raises(SealBroken):
        unseal(token)  # sealed under SECRET_KEY's key, which is no longer configured


def test_rotation_new_key_first_old_key_still_opens(settings):
    settings.ERASURE_SEAL_KEYS = ["kunci-lama-" + "a" * 40]
    old = seal({"email": "siti.rahayu@gmail.com"})
    settings.ERASURE_SEAL_KEYS = ["kunci-baru-" + "b" * 40, "kunci-lama-" + "a" * 40]
    assert unseal(old) == {"email": "siti.rahayu@gmail.com"}
    new = seal({"email": "budi@contoh.co.id"})
    settings.ERASURE_SEAL_KEYS = ["kunci-baru-" + "b" * 40]
    assert unseal(new) == {"email": "budi@contoh.co.id"}
    with pytest.raises(SealBroken):
        unseal(old)


# -- the run's life ----------------------------------------------------------------------------


def test_a_run_is_sealed_while_open_and_forgets_her_when_it_completes(person):
    run = services.subject_erase(**person, dry_run=True)
    assert run.sealed_scope == ""  # a dry run changes nothing: nothing to resume, nothing sealed
    run = subject_erasure_start(**person)
    assert run.state == ErasureRun.State.PENDING and unseal(run.sealed_scope)["email"] == person["email"]
    done = subject_erasure_continue(run_id=run.pk)
    assert done.state == ErasureRun.State.COMPLETED and done.sealed_scope == ""
    assert subject_records(**person).total == 0


def test_a_dead_workers_run_is_queued_by_the_sweep_and_finished_in_the_same_record(person, committed):
    planned = services.subject_erase(**person, dry_run=True).counts
    run = killed_after(subject_erasure_start(**person), person, batches=3)
    assert subject_records(**person).total > 0
    assert committed(services.work_resume_stalled)["runs"] == 1
    run.refresh_from_db()
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 2 and run.sealed_scope == ""
    assert run.counts == planned and run.rows_done == run.rows_total  # each row once
    assert subject_records(**person).total == 0
    assert ErasureRun.objects.filter(kind=ErasureRun.Kind.SUBJECT_ERASURE, dry_run=False).count() == 1


def test_a_live_workers_run_is_not_taken_from_it(person):
    run = subject_erasure_start(**person)
    assert RunClaim.take(run.pk) is not None  # a worker holds it, lease running
    assert subject_erasure_continue(run_id=run.pk) is None
    assert services.work_resume_stalled()["runs"] == 0


def test_a_hold_placed_while_the_worker_was_dead_stops_the_resumed_run_and_a_person_retries_after(
    person, committed,
):
    dpo = member_of("Data protection officer")
    run = killed_after(subject_erasure_start(**person), person, batches=2)
    hold = services.hold_place(actor=dpo, subject_email=person["email"], reason=LegalHold.Reason.DISPUTE,
                               detail="Sengketa di pengadilan")
    committed(services.work_resume_stalled)
    run.refresh_from_db()
    assert run.state == ErasureRun.State.STOPPED and f"#{hold.pk}" in run.stop_reason
    assert run.sealed_scope  # kept: a person may retry it once the hold ends
    left = subject_records(**person).total
    assert left > 0

    with pytest.raises(RetentionError) as refused:  # the hold still covers her
        services.subject_erasure_retry(run_id=run.pk, actor=dpo)
    assert f"#{hold.pk}" in refused.value.message
    run.refresh_from_db()
    assert run.sealed_scope and ErasureRun.objects.filter(retry_of=run).count() == 0

    services.hold_lift(hold_id=hold.pk, actor=dpo, reason="Perkara selesai")
    retry = committed(services.subject_erasure_retry, run_id=run.pk, actor=dpo)
    retry.refresh_from_db()
    run.refresh_from_db()
    assert retry.retry_of_id == run.pk and retry.state == ErasureRun.State.COMPLETED
    assert run.sealed_scope == "" and retry.sealed_scope == ""  # the seal moved, then was forgotten
    assert retry.rows_done == retry.rows_total > 0
    assert subject_records(**person).total == 0


def test_only_a_person_allowed_to_retry_erasures_retries_one(person):
    run = killed_after(subject_erasure_start(**person), person, batches=1)
    ErasureRun.objects.filter(pk=run.pk).update(state=ErasureRun.State.FAILED, claimed_by="", lease_until=None)
    officer = member_of("Compliance officer")
    assert not officer.has_perm("retention.retry_erasurerun")
    with pytest.raises(NotPermitted):
        services.subject_erasure_retry(run_id=run.pk, actor=officer)
    with pytest.raises(NotPermitted):
        services.subject_erasure_retry(run_id=run.pk, actor=None)
    completed = services.subject_erase(email="budi@contoh.co.id")
    with pytest.raises(RetentionError):  # only a failed or stopped one
        services.subject_erasure_retry(run_id=completed.pk, actor=member_of("Data protection officer"))


def test_a_seal_that_no_key_opens_fails_the_run_for_a_person_not_silently(person, settings, committed):
    run = killed_after(subject_erasure_start(**person), person, batches=1)
    settings.ERASURE_SEAL_KEYS = ["kunci-baru-" + "c" * 40]  # the old key was retired too early
    committed(services.work_resume_stalled)
    run.refresh_from_db()
    assert run.state == ErasureRun.State.FAILED and "tersegel tidak dapat dibuka" in run.error


def test_a_run_from_before_seals_is_ended_as_abandoned(person):
    run = killed_after(subject_erasure_start(**person), person, batches=1)
    ErasureRun.objects.filter(pk=run.pk).update(sealed_scope="")
    assert services.work_resume_stalled()["runs"] == 0
    run.refresh_from_db()
    assert run.state == ErasureRun.State.FAILED and run.error == SUBJECT_RUN_ABANDONED


def test_the_admin_retries_a_stopped_subject_erasure(person, client, django_capture_on_commit_callbacks):
    dpo = member_of("Data protection officer")
    run = killed_after(subject_erasure_start(**person), person, batches=1)
    ErasureRun.objects.filter(pk=run.pk).update(state=ErasureRun.State.STOPPED, claimed_by="", lease_until=None,
                                                stop_reason="Dihentikan")
    client.force_login(dpo)
    url = reverse("admin:retention_erasurerun_changelist")
    page = client.post(url, {"action": "retry", "_selected_action": [run.pk]})
    assert page.status_code == 200 and f"#{run.pk} subjek" in page.content.decode()  # the confirmation names it
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"action": "retry", "_selected_action": [run.pk], "confirmed": "yes"}, follow=True)
    assert done.status_code == 200
    retry = ErasureRun.objects.get(retry_of=run)
    assert retry.state == ErasureRun.State.COMPLETED and subject_records(**person).total == 0
    # Retried once: it is no longer offered (its retry would be the one to retry).
    ErasureRun.objects.filter(pk=retry.pk).update(state=ErasureRun.State.FAILED)
    page = client.post(url, {"action": "retry", "_selected_action": [run.pk, retry.pk]}).content.decode()
    assert f"#{retry.pk} subjek" in page and f"#{run.pk} subjek" not in page


def test_the_runs_admin_never_shows_a_seal_or_her_address(person, client):
    run = killed_after(subject_erasure_start(**person), person, batches=1)
    sealed = ErasureRun.objects.get(pk=run.pk).sealed_scope
    client.force_login(member_of("Data protection officer"))
    for url in (reverse("admin:retention_erasurerun_changelist"),
                reverse("admin:retention_erasurerun_change", args=[run.pk])):
        page = client.get(url)
        assert page.status_code == 200
        text = page.content.decode()
        assert sealed[:40] not in text and person["email"] not in text and person["phone"] not in text
    assert str(run.subject_hashes["email"]) in client.get(
        reverse("admin:retention_erasurerun_change", args=[run.pk])).content.decode()  # what it shows: hashes


def test_her_completed_erasure_forgets_the_seals_of_her_earlier_runs(person):
    stopped = killed_after(subject_erasure_start(**person), person, batches=1)
    ErasureRun.objects.filter(pk=stopped.pk).update(state=ErasureRun.State.STOPPED, claimed_by="")
    other = services.subject_erase(email="budi@contoh.co.id", dry_run=False)  # someone else's: untouched below
    assert ErasureRun.objects.get(pk=stopped.pk).sealed_scope
    done = services.subject_erase(**person)
    assert done.state == ErasureRun.State.COMPLETED and done.sealed_scope == ""
    assert ErasureRun.objects.get(pk=stopped.pk).sealed_scope == ""
    assert other.state == ErasureRun.State.COMPLETED


def test_a_restart_needs_a_person_and_is_made_once(person):
    from retention.services.subject import subject_erasure_restart

    run = killed_after(subject_erasure_start(**person), person, batches=1)
    ErasureRun.objects.filter(pk=run.pk).update(state=ErasureRun.State.FAILED, claimed_by="", lease_until=None)
    with pytest.raises(RetentionError):
        subject_erasure_restart(run_id=run.pk, actor=None)
    dpo = member_of("Data protection officer")
    retry = subject_erasure_restart(run_id=run.pk, actor=dpo)
    with pytest.raises(RetentionError) as twice:
        subject_erasure_restart(run_id=run.pk, actor=dpo)
    assert f"#{retry.pk}" in twice.value.message
    assert ErasureRun.objects.filter(retry_of=run).count() == 1


def test_a_passing_database_error_gives_the_claim_back_for_the_retry(person, monkeypatch):
    from django.db import OperationalError

    from retention import engine

    run = subject_erasure_start(**person)
    real = engine.Erasure.run

    def connection_lost(self):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(engine.Erasure, "run", connection_lost)
    with pytest.raises(OperationalError):
        subject_erasure_continue(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == ErasureRun.State.RUNNING and run.claimed_by == "" and run.sealed_scope  # resumable
    monkeypatch.setattr(engine.Erasure, "run", real)
    assert subject_erasure_continue(run_id=run.pk).state == ErasureRun.State.COMPLETED
