"""The purge on a real Celery worker and Redis: what tasks run in process cannot prove.

Each test starts `celery worker` (and, for the plan and the sweep, `celery beat`) as subprocesses
(junoprivacy.testing) on the pytest-django test database. Workers get a lease of 3 seconds and
batches of 2 rows, so a small merchant spans many batches and a dead worker's lease runs out
within the test.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from junoprivacy.testing import wait_until
from retention import services
from retention.engine import Erasure, Scope
from retention.models import ErasureRun, PurgeSchedule
from retention.tasks import merchant_purge, purge_plan, records_expire

from .conftest import build_shop, closed, merchant_checksum, submitted, warned_schedule

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 3
BATCH_SIZE = 2
DAILY_PLAN = "Rencana penghapusan harian (purge merchant berhenti)"
SWEEP = "Lanjutkan pekerjaan yang macet (penghapusan dan pesan)"


@pytest.fixture
def cluster_env():
    return {"PURGE_LEASE_SECONDS": str(LEASE_SECONDS), "ERASURE_BATCH_SIZE": str(BATCH_SIZE)}


def total(counts: dict) -> int:
    return sum(n for actions in counts.values() for n in actions.values())


def add_counts(a: dict, b: dict) -> dict:
    merged = {table: dict(actions) for table, actions in a.items()}
    for table, actions in b.items():
        for action, n in actions.items():
            merged.setdefault(table, {})
            merged[table][action] = merged[table].get(action, 0) + n
    return merged


def due_schedule(shop) -> PurgeSchedule:
    return warned_schedule(shop)


def purge_run(shop) -> ErasureRun | None:
    return ErasureRun.objects.filter(merchant_ref=shop.pk, dry_run=False).first()


def every_second(name: str) -> None:
    """A seeded periodic task made due every second, as an officer could edit it in the admin."""
    task = PeriodicTask.objects.get(name=name)
    task.crontab = None
    task.interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    task.save()


# -- the tests ----------------------------------------------------------------------------------


def test_a_worker_purges_a_due_merchant(cluster):
    shop, bystander = build_shop(), build_shop(email_domain="tetangga.id")
    untouched = merchant_checksum(bystander.pk)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    assert planned

    cluster.worker()
    cluster.send(merchant_purge, schedule.pk)

    schedule = wait_until(
        lambda: PurgeSchedule.objects.filter(pk=schedule.pk, state=PurgeSchedule.State.PURGED).first(),
        timeout=30, what="the schedule to be purged",
    )
    run = purge_run(shop)
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 1
    assert run.counts == planned
    assert run.rows_done == run.rows_total == total(planned)
    assert schedule.purged_at and run.lease_until is None and run.claimed_by == ""
    assert Erasure(Scope.merchant(shop.pk)).count() == {}
    assert merchant_checksum(bystander.pk) == untouched
    assert cluster.successes(merchant_purge) == [f"{{'run': {run.pk}, 'state': 'completed', 'rows': {run.rows_done}}}"]


def test_two_workers_one_merchant_one_purge(cluster):
    shop = build_shop(customers=10, sales=80)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    # Small batches: the purge lasts long enough (many short transactions) for the other copies to
    # arrive while it runs, however fast the machine (in one batch it could end before they do).
    cluster.worker("w1", env={"ERASURE_BATCH_SIZE": "5"})
    cluster.worker("w2", env={"ERASURE_BATCH_SIZE": "5"})

    for _ in range(4):
        cluster.send(merchant_purge, schedule.pk)

    # A copy turned away (logged first) while the schedule is still being purged (read after):
    # the lease held off a concurrent worker; a copy that came before the claim would have won it.
    wait_until(
        lambda: "None" in cluster.successes(merchant_purge)
        and PurgeSchedule.objects.get(pk=schedule.pk).state == PurgeSchedule.State.PURGING,
        timeout=30, what="a copy refused while the purge runs", every=0.02,
    )
    wait_until(lambda: len(cluster.successes(merchant_purge)) == 4, timeout=30, what="all four copies to finish")

    runs = list(ErasureRun.objects.filter(merchant_ref=shop.pk, dry_run=False))
    assert len(runs) == 1
    run = runs[0]
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 1
    assert run.counts == planned  # erased exactly once: nothing counted twice
    assert sorted(cluster.successes(merchant_purge)) == sorted(
        [f"{{'run': {run.pk}, 'state': 'completed', 'rows': {total(planned)}}}"] + ["None"] * 3
    )
    for worker in cluster.processes:  # both workers took copies: they really raced
        assert re.search(r"retention\.merchant_purge\[[^\]]+\] succeeded", worker.log), worker.log
    assert PurgeSchedule.objects.get(pk=schedule.pk).state == PurgeSchedule.State.PURGED
    assert Erasure(Scope.merchant(shop.pk)).count() == {}


def test_a_worker_killed_mid_purge_is_resumed_by_the_sweep_within_its_lease_without_a_person(cluster):
    """kill -9 mid-purge; no daily plan, no officer: beat's every-minute sweep (here every second)
    notices the lease ran out and a restarted worker finishes the same run, nothing counted twice."""
    shop = build_shop(customers=20, sales=250)
    bystander = build_shop(email_domain="tetangga.id")
    untouched = merchant_checksum(bystander.pk)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()

    first = cluster.worker("w1")
    cluster.send(merchant_purge, schedule.pk)
    wait_until(
        lambda: ErasureRun.objects.filter(merchant_ref=shop.pk, state=ErasureRun.State.RUNNING, rows_done__gt=0).exists(),
        timeout=30, what="the purge to be under way", every=0.02,
    )
    first.kill()

    run = purge_run(shop)
    schedule.refresh_from_db()
    assert run.state == ErasureRun.State.RUNNING and run.attempts == 1
    assert 0 < run.rows_done < total(planned), (run.rows_done, run.rows_total)
    # a first attempt counts its total after its first second (small shops never pay for it)
    assert run.rows_total in (0, total(planned)), run.rows_total
    assert total(run.counts) == run.rows_done
    # The record claims exactly what was committed: what it counts plus what is left is the plan.
    assert add_counts(run.counts, Erasure(Scope.merchant(shop.pk)).count()) == planned
    assert schedule.state == PurgeSchedule.State.PURGING and run.claimed_by and run.lease_until > timezone.now()

    every_second(SWEEP)
    cluster.worker("w2")
    cluster.beat()
    wait_until(
        lambda: PurgeSchedule.objects.filter(pk=schedule.pk, state=PurgeSchedule.State.PURGED).exists(),
        timeout=LEASE_SECONDS + 30, what="the sweep to hand the purge to the second worker",
    )
    assert "retention.purge_plan[" not in cluster.logs()  # not the daily plan: the sweep
    assert re.search(r"retention\.work_resume_stalled\[[^\]]+\] succeeded in [\d.]+s: .*'runs': 1", cluster.logs())
    runs = list(ErasureRun.objects.filter(merchant_ref=shop.pk, dry_run=False))
    assert [r.pk for r in runs] == [run.pk]  # the dead worker's run, resumed
    run.refresh_from_db()
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 2
    assert run.counts == planned  # nothing counted twice, nothing lost
    assert run.rows_done == run.rows_total == total(planned)
    assert Erasure(Scope.merchant(shop.pk)).count() == {}
    assert merchant_checksum(bystander.pk) == untouched


def test_a_claim_taken_over_from_a_live_worker_leaves_a_true_record(cluster):
    """One batch blocked by a row lock for longer than the lease: a second worker takes the run
    over while the first still lives. The first writes nothing more (its writes are fenced by its
    claim), the run never shows stopped, and its counts equal the dry run's."""
    shop = build_shop(customers=10, sales=120)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    database = connection.settings_dict["NAME"]

    def blocked():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
                " AND wait_event_type = 'Lock'", [database],
            )
            return cursor.fetchone()[0]

    # Another transaction (JUNOPOS's, say) holds the shop's sales, lines and payments: the first
    # worker's batch on them waits, longer than its lease.
    with transaction.atomic():
        with connection.cursor() as cursor:
            for table in ("merchants_payment", "merchants_saleline", "merchants_sale"):
                cursor.execute(f"SELECT id FROM {table} WHERE merchant_id = %s FOR UPDATE", [shop.pk])
        cluster.worker("w1")
        cluster.send(merchant_purge, schedule.pk)
        wait_until(blocked, timeout=30, what="the first worker to wait on the locked rows")
        run = purge_run(shop)
        first_token = run.claimed_by
        wait_until(lambda: ErasureRun.objects.get(pk=run.pk).lease_until < timezone.now(), timeout=LEASE_SECONDS + 5,
                   what="the blocked worker's lease to run out")
        # A second worker takes the run over while the first still lives (and waits).
        cluster.worker("w2")
        cluster.send(merchant_purge, schedule.pk)
        wait_until(lambda: ErasureRun.objects.get(pk=run.pk).claimed_by not in ("", first_token), timeout=30,
                   what="the second worker to take the run over", every=0.02)
        assert ErasureRun.objects.get(pk=run.pk).state == ErasureRun.State.RUNNING
    # The lock is gone: w1's batch reaches its fence and rolls back; w2 finishes.
    wait_until(
        lambda: PurgeSchedule.objects.filter(pk=schedule.pk, state=PurgeSchedule.State.PURGED).exists(),
        timeout=60, what="the second worker to finish",
    )
    run.refresh_from_db()
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 2
    assert run.counts == planned  # neither lost (198,000 of 200,000) nor doubled
    assert run.rows_done == run.rows_total == total(planned)
    assert Erasure(Scope.merchant(shop.pk)).count() == {}
    assert re.search(r"another worker took the run over", cluster.processes[0].log)


def test_a_purge_out_of_time_saves_gives_back_and_queues_itself_again(cluster):
    # Enough rows, in batches of one, to outlast a one-second budget several times over on a
    # fast machine (150 sales once fitted in one budget).
    shop = build_shop(customers=10, sales=500)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()

    cluster.worker(env={"ERASURE_TIME_BUDGET_SECONDS": "1", "ERASURE_BATCH_SIZE": "1"})
    cluster.send(merchant_purge, schedule.pk)
    wait_until(
        lambda: PurgeSchedule.objects.filter(pk=schedule.pk, state=PurgeSchedule.State.PURGED).exists(),
        timeout=90, what="the purge to finish in several time budgets",
    )
    run = purge_run(shop)
    assert run.state == ErasureRun.State.COMPLETED and run.attempts >= 2 and not run.error
    assert run.counts == planned
    assert ErasureRun.objects.filter(merchant_ref=shop.pk, dry_run=False).count() == 1
    yielded = [r for r in cluster.successes(merchant_purge) if "'running'" in r]
    assert yielded, "the task reported running runs that it queued again"


def test_a_lost_database_connection_is_retried_and_the_purge_finishes(cluster):
    shop = build_shop(customers=10, sales=100)
    bystander = build_shop(email_domain="tetangga.id")
    untouched = merchant_checksum(bystander.pk)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    database = connection.settings_dict["NAME"]

    # A lease longer than the first retry's back-off (0-5 s): the retry must find it released.
    cluster.worker(env={"PURGE_LEASE_SECONDS": "30"})
    cluster.send(merchant_purge, schedule.pk)
    wait_until(
        lambda: ErasureRun.objects.filter(merchant_ref=shop.pk, state=ErasureRun.State.RUNNING, rows_done__gt=0).exists(),
        timeout=30, what="the purge to be under way", every=0.02,
    )

    def waiting_on_our_lock():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the view is frozen for the transaction
            cursor.execute(
                "SELECT pid, query FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
                [database],
            )
            return cursor.fetchall()

    # Hold the run's row so that the worker's next batch record waits on it, then end the
    # worker's connection, as a database restart or a failover would: the batch rolls back.
    with transaction.atomic():
        ErasureRun.objects.select_for_update().get(pk=purge_run(shop).pk)
        [(pid, query)] = wait_until(waiting_on_our_lock, timeout=10, what="the worker to wait on the run's row")
        assert 'FROM "retention_erasurerun"' in query and "FOR UPDATE" in query
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0]
    assert purge_run(shop).rows_done < total(planned)

    wait_until(
        lambda: PurgeSchedule.objects.filter(pk=schedule.pk, state=PurgeSchedule.State.PURGED).exists(),
        timeout=30, what="the purge to finish after the retry",
    )
    assert re.search(r"retention\.merchant_purge\[[^\]]+\] retry: Retry in \d+s: (OperationalError|InterfaceError)", cluster.logs())
    run = purge_run(shop)
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 2  # the same run, resumed by the retry
    assert run.counts == planned
    assert cluster.successes(merchant_purge) == [f"{{'run': {run.pk}, 'state': 'completed', 'rows': {total(planned)}}}"]
    assert Erasure(Scope.merchant(shop.pk)).count() == {}
    assert merchant_checksum(bystander.pk) == untouched


def test_beat_runs_the_daily_plan_and_the_plan_purges_a_due_merchant(cluster):
    shop, bystander = build_shop(), build_shop(email_domain="tetangga.id")
    untouched = merchant_checksum(bystander.pk)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    # The seeded daily plan, made due every second, as an officer would edit it in the admin.
    every_second(DAILY_PLAN)

    cluster.worker()
    beat = cluster.beat()
    wait_until(
        lambda: PurgeSchedule.objects.filter(pk=schedule.pk, state=PurgeSchedule.State.PURGED).exists(),
        timeout=30, what="beat -> plan_purges -> merchant_purge to purge the merchant",
    )
    beat.stop()

    assert re.search(rf"Sending due task {re.escape(DAILY_PLAN)} \(retention\.purge_plan\)", beat.log)
    assert re.search(r"retention\.purge_plan\[[^\]]+\] succeeded in [\d.]+s: .*'due': 1", cluster.logs())
    run = purge_run(shop)
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 1 and run.counts == planned
    assert Erasure(Scope.merchant(shop.pk)).count() == {}
    assert merchant_checksum(bystander.pk) == untouched


def test_the_plan_on_a_worker_anonymises_request_records_past_their_two_years(cluster, tmp_path):
    from requests_portal.audit import audit_anchor, audit_verify
    from requests_portal.models import DataSubjectRequest, VerificationCode
    from retention.models import RetentionRule
    from retention.services.expiry import records_scope

    old = [
        closed(submitted(name=f"Pemohon Lama {i}", email=f"lama{i}@contoh.id", phone=f"0812 1000 00{i:02d}"),
               ago=timedelta(days=731))
        for i in range(2)
    ]
    recent = closed(submitted(name="Pemohon Baru", email="baru@contoh.id"), ago=timedelta(days=10))
    audit_anchor()
    rule = RetentionRule.objects.get(key="request-records")
    planned = Erasure(records_scope(rule, now=timezone.now())[0]).count()
    assert total(planned) > 2 * BATCH_SIZE  # several batches

    cluster.worker(env={"PHONE_OUTBOX_DIR": str(tmp_path / "sms")})
    cluster.send(purge_plan)
    run = wait_until(
        lambda: ErasureRun.objects.filter(kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_ref=None, state="completed").first(),
        timeout=30, what="purge_plan -> records_expire to anonymise the old requests",
    )
    assert run.rule_id == rule.pk and run.attempts == 1 and run.counts == planned
    assert run.rows_done == run.rows_total == total(planned)
    assert cluster.successes(records_expire) == [str(run.pk)]
    assert re.search(r"retention\.purge_plan\[[^\]]+\] succeeded in [\d.]+s: .*'records_expired': 1", cluster.logs())
    assert not VerificationCode.objects.filter(request__in=old).exists()
    assert VerificationCode.objects.filter(request=recent).exists()
    assert list(DataSubjectRequest.objects.filter(pk__in=[r.pk for r in old]).values_list("requester_name", flat=True)) == [
        "[dihapus]", "[dihapus]",
    ]
    assert audit_verify().intact
