"""The execution of an approved request on a real Celery worker, killed (kill -9) mid-way and
resumed on another by the sweep (`requests_portal.request_executions_resume_stalled`), as beat
runs it every five minutes.

The execution's lease (requests_portal.services.execution.LEASE, 30 minutes, no setting) is not
waited for: the test moves the dead worker's lease into the past, which is what 30 minutes would
do. The access package has no slowing setting: the customer has enough sales (inserted with SQL)
that the build takes a couple of seconds, and the worker is killed while the package's `.part`
file is being written. The erasure gets batches of one row (ERASURE_BATCH_SIZE in the cluster's
environment) so that it spans many batches, and the worker is killed after the first of them.
"""

import hashlib
import zipfile
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from junoprivacy.testing import reseed_migrated_data, wait_until
from merchants.models import LoyaltyCustomer, Sale
from merchants.tests.factories import MerchantFactory, OutletFactory
from messaging.models import OutboundMessage
from requests_portal import services, tasks
from requests_portal.models import AccessPackage, DataSubjectRequest, RequestExecution, RequestMessage, State
from requests_portal.services.execution import PACKAGE_STEPS, STEPS
from requests_portal.services.export import package_path
from retention.models import ErasureRun
from retention.pseudonyms import is_pseudonym
from retention.selectors import subject_records
from retention.tests.conftest import build_shop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SITI = "siti.besar@example.test"
SALES = 20_000  # her sales: a package that takes a couple of seconds to build on the worker


@pytest.fixture(autouse=True)
def _groups(cluster):
    """The officers' groups and grants (the flush of an earlier transactional test emptied them)."""
    reseed_migrated_data()


@pytest.fixture
def private(settings, tmp_path):
    settings.PRIVATE_MEDIA_DIR = tmp_path / "private"
    settings.PHONE_OUTBOX_DIR = tmp_path / "sms"
    return settings.PRIVATE_MEDIA_DIR


@pytest.fixture
def cluster_env(tmp_path):
    return {
        "PRIVATE_MEDIA_DIR": str(tmp_path / "private"), "PHONE_OUTBOX_DIR": str(tmp_path / "sms"),
        "EMAIL_URL": "memorymail://", "ERASURE_BATCH_SIZE": "1",
    }


def her_sales(n: int) -> None:
    """n sales with her digital receipt at one shop, two lines each (SQL: factories are too slow)."""
    shop = MerchantFactory(business_name="Warung Bu Drajat")
    outlet = OutletFactory(merchant=shop)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO merchants_sale (merchant_id, outlet_id, receipt_number, receipt_email, subtotal, tax, total, sold_at)
            SELECT %(shop)s, %(outlet)s, 'BIG' || lpad(g::text, 9, '0'), %(email)s, 50000, 5500, 55500,
                   now() - g * interval '3 minutes'
            FROM generate_series(1, %(n)s) g
            """,
            {"shop": shop.pk, "outlet": outlet.pk, "email": SITI, "n": n},
        )
        cursor.execute(
            """
            INSERT INTO merchants_saleline (merchant_id, sale_id, product_name, sku, quantity, unit_price, line_total)
            SELECT s.merchant_id, s.id, 'Produk ' || k, 'SKU-' || k, k, 2500, 2500 * k
            FROM merchants_sale s CROSS JOIN generate_series(1, 2) k WHERE s.merchant_id = %(shop)s
            """,
            {"shop": shop.pk},
        )


def expire_lease(request_id: int) -> None:
    """Thirty minutes pass: the dead worker's leases run out (the execution's, and its erasure run's)."""
    past = timezone.now() - timedelta(seconds=1)
    execution = RequestExecution.objects.get(request_id=request_id)
    RequestExecution.objects.filter(pk=execution.pk).update(lease_until=past)
    run = execution.steps.get("erasure", {}).get("run")
    if run is not None:
        ErasureRun.objects.filter(pk=run, state=ErasureRun.State.RUNNING).update(lease_until=past)


def finished(request_id: int):
    return RequestExecution.objects.filter(
        request_id=request_id, state__in=[RequestExecution.State.COMPLETED, RequestExecution.State.FAILED],
    ).first()


def step_events(request: DataSubjectRequest) -> list[str]:
    return [v for v in request.events.order_by("seq").values_list("verb", flat=True)
            if v.startswith("execution_") or v in ("package_built", "completed")]


# -- access: killed while the package is being built ---------------------------------------------


def test_a_worker_killed_mid_export_is_resumed_on_another_with_one_package_and_one_link(
    cluster, private, make_request, officer,
):
    """The request completes with one package (complete: it opens, its sha256 is the file's) and one
    link message. The killed build leaves its half-written `request-<id>.zip.part` (a kill -9 runs
    no cleanup); the resumed build removes it before writing, so nothing of hers is left behind."""
    her_sales(SALES)
    request = make_request(step="in_review", by=officer, right="access", email=SITI)
    services.request_approve(request_id=request.pk, actor=officer)
    request.refresh_from_db()
    assert request.state == State.APPROVED
    packages = private / "access"

    first = cluster.worker("w1")
    cluster.send(tasks.request_execute, request.pk, officer.pk)
    wait_until(lambda: packages.is_dir() and any(packages.glob("*.part")), timeout=60,
               what="the package to be being written", every=0.02)
    first.kill()

    execution = RequestExecution.objects.get(request=request)
    assert execution.state == RequestExecution.State.RUNNING and execution.attempts == 1
    assert "package" not in execution.steps  # killed inside the build: nothing recorded
    assert not AccessPackage.objects.filter(request=request).exists()
    assert execution.lease_until > timezone.now()
    assert services.request_executions_resume_stalled() == []  # the dead worker still holds it
    orphans = sorted(packages.iterdir())
    assert [p.suffix for p in orphans] == [".part"], orphans  # what a kill -9 leaves: no cleanup ran

    expire_lease(request.pk)
    cluster.worker("w2")
    cluster.send(tasks.request_executions_resume_stalled)
    execution = wait_until(lambda: finished(request.pk), timeout=120, what="the second worker to finish")

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    assert execution.attempts == 2 and not execution.claimed_by and execution.finished_at
    assert "1" in cluster.successes(tasks.request_executions_resume_stalled)
    request.refresh_from_db()
    assert request.state == State.COMPLETED
    # Exactly one package, complete: it opens, and the recorded sha256 and size are the file's.
    package = AccessPackage.objects.get(request=request)
    assert execution.steps["package"]["package"] == package.pk
    data = package_path(package).read_bytes()
    assert hashlib.sha256(data).hexdigest() == package.sha256 and len(data) == package.size
    with zipfile.ZipFile(package_path(package)) as archive:
        assert archive.testzip() is None
        assert "index.html" in {name.rsplit("/", 1)[-1] for name in archive.namelist()}
    # Exactly one link told her, and it was sent.
    links = OutboundMessage.objects.filter(
        pk__in=RequestMessage.objects.filter(request=request).values("message_id"), body__contains="/unduh/",
    )
    assert links.count() == 1 and links.get().to_email == SITI
    assert execution.steps["link"]["message"] == links.get().pk
    wait_until(lambda: OutboundMessage.objects.get(pk=links.get().pk).state == OutboundMessage.State.SENT,
               timeout=30, what="the link to be sent")
    assert step_events(request) == ["package_built", "execution_package", "execution_link", "completed"]
    assert all(execution.steps[step]["state"] == "done" for step in PACKAGE_STEPS)
    # What is on disk: the package alone; the killed build's half-written `.part` (named after the
    # request) was removed by the resumed build before it wrote its own.
    assert sorted(packages.iterdir()) == [package_path(package)]
    assert orphans == [packages / f"request-{request.pk}.zip.part"]


# -- deletion: killed mid-erasure ----------------------------------------------------------------


def approved_deletion(make_request, officer, dpo):
    shop = build_shop(customers=2, sales=300)  # her 150 sales, lines and payments: hundreds of batches of one
    person = LoyaltyCustomer.objects.filter(merchant=shop).order_by("pk").first()
    request = make_request(step="in_review", by=officer, right="deletion", email=person.email, phone=person.phone)
    services.request_propose(request_id=request.pk, actor=officer)
    services.request_approve(request_id=request.pk, actor=dpo)
    request.refresh_from_db()
    assert request.state == State.APPROVED
    assert subject_records(email=person.email, phone=person.phone).total > 0
    return shop, person, request


def erasure_run(state=ErasureRun.State.RUNNING):
    return ErasureRun.objects.filter(kind=ErasureRun.Kind.SUBJECT_ERASURE, dry_run=False, state=state)


def summaries(request, before: set[int]):
    """The messages linked to the request since its approval: the summary alone."""
    return OutboundMessage.objects.filter(
        pk__in=RequestMessage.objects.filter(request=request).values("message_id"),
    ).exclude(pk__in=before)


def assert_erased_once(request, shop, person, sales_before, messages_before):
    request.refresh_from_db()
    execution = RequestExecution.objects.get(request=request)
    assert request.state == State.COMPLETED and execution.state == RequestExecution.State.COMPLETED
    # Her data is gone: the data map's find_by columns find nothing; the shop's sales remain.
    assert subject_records(email=person.email, phone=person.phone).total == 0
    assert not LoyaltyCustomer.objects.filter(pk=person.pk, email=person.email).exists()
    assert Sale.objects.filter(merchant=shop).count() == sales_before
    # One summary, sent to her before the erasure (her address is a keyed hash now).
    [summary] = summaries(request, messages_before)
    assert summary.pk == execution.steps["summary"]["message"] and summary.state == OutboundMessage.State.SENT
    assert is_pseudonym(summary.to_email)
    # Each step recorded once, in order (the summary's two events: its message, then the step).
    assert all(execution.steps[step]["state"] in ("done", "skipped") for step in STEPS)
    steps = [v for v in step_events(request) if v != "execution_failed"]
    assert steps == [
        "execution_dry_run", "execution_skipped", "execution_notices", "execution_summary", "execution_summary",
        "execution_erasure", "completed",
    ]
    return execution


def test_a_worker_killed_mid_erasure_is_resumed_on_another_and_nothing_is_done_twice(
    cluster, private, make_request, officer, dpo,
):
    """Killed after the erasure's first batches, before it reached her request row (the engine
    goes children first: the outbox, then the request's own records, then the shop's): the
    resumed erasure step goes on with the run it recorded when it started it, which finds only
    what is left. One run, what it planned done once."""
    shop, person, request = approved_deletion(make_request, officer, dpo)
    sales_before = Sale.objects.filter(merchant=shop).count()
    messages_before = set(RequestMessage.objects.filter(request=request).values_list("message_id", flat=True))

    first = cluster.worker("w1")
    cluster.send(tasks.request_execute, request.pk, officer.pk)
    wait_until(lambda: erasure_run().filter(rows_done__gt=0).exists(), timeout=60,
               what="the erasure to be under way", every=0.01)
    first.kill()

    killed = erasure_run().get()
    request.refresh_from_db()
    execution = RequestExecution.objects.get(request=request)
    assert 0 < killed.rows_done < killed.rows_total
    assert request.email == person.email and not is_pseudonym(request.email)  # her request not reached yet
    assert execution.state == RequestExecution.State.RUNNING and execution.steps["erasure"] == {
        "run": killed.pk, "at": execution.steps["erasure"]["at"]}  # started, recorded, not done
    assert execution.steps["summary"]["state"] == "done"
    assert services.request_executions_resume_stalled() == []  # the dead worker still holds it

    expire_lease(request.pk)
    cluster.worker("w2")
    cluster.send(tasks.request_executions_resume_stalled)
    execution = wait_until(lambda: finished(request.pk), timeout=120, what="the second worker to finish")

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    assert execution.attempts == 2 and not execution.claimed_by
    assert "1" in cluster.successes(tasks.request_executions_resume_stalled)
    assert_erased_once(request, shop, person, sales_before, messages_before)
    assert_one_run_finished(execution, killed)


def assert_one_run_finished(execution, killed):
    """The killed run itself was finished: one record, two attempts, what it planned done once,
    her sealed identifiers forgotten."""
    run = ErasureRun.objects.get(pk=execution.steps["erasure"]["run"])
    assert run.pk == killed.pk and run.state == ErasureRun.State.COMPLETED and run.attempts == 2
    assert run.rows_done == killed.rows_total and run.sealed_scope == ""
    assert erasure_run(state=ErasureRun.State.COMPLETED).count() == 1 and not erasure_run().exists()


def test_a_worker_killed_mid_erasure_after_her_request_is_hashed_is_finished_from_the_seal(
    cluster, private, make_request, officer, dpo,
):
    """Killed after the erasure reached her request row (her e-mail and phone there are keyed
    hashes, so nothing in the request names her any more) but before the run completed. The
    sweep resumes the execution, which goes on with its recorded run: the run opens her sealed
    identifiers and finishes. Nothing of her is left in any table (read as an auditor reads it),
    she is not told twice, and nothing is done twice."""
    from retention.tests.test_audit import assert_none_left, database_dump

    shop, person, request = approved_deletion(make_request, officer, dpo)
    sales_before = Sale.objects.filter(merchant=shop).count()
    messages_before = set(RequestMessage.objects.filter(request=request).values_list("message_id", flat=True))
    her_values = {person.email, person.phone, person.name}

    first = cluster.worker("w1")
    cluster.send(tasks.request_execute, request.pk, officer.pk)
    wait_until(lambda: is_pseudonym(DataSubjectRequest.objects.filter(pk=request.pk).values_list("email", flat=True)[0]),
               timeout=60, what="the erasure to reach her request", every=0.01)
    first.kill()

    killed = erasure_run().get()
    assert 0 < killed.rows_done < killed.rows_total and killed.sealed_scope
    assert subject_records(email=person.email, phone=person.phone).total > 0  # the rest of her: not found by the request

    expire_lease(request.pk)
    cluster.worker("w2")
    cluster.send(tasks.request_executions_resume_stalled)
    execution = wait_until(lambda: finished(request.pk), timeout=120, what="the second worker to finish")

    assert execution.state == RequestExecution.State.COMPLETED, execution.error
    assert execution.attempts == 2 and not execution.claimed_by
    assert_erased_once(request, shop, person, sales_before, messages_before)
    assert_one_run_finished(execution, killed)
    assert_none_left({v for v in her_values if v and len(v) >= 5}, database_dump())
