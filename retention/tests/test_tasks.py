"""The purge on a real Celery worker and Redis: what tasks run in process cannot prove.

Each test starts `celery worker` (and, for the daily plan, `celery beat`) as subprocesses on
the pytest-django test database, so the data they must see is committed
(`django_db(transaction=True)`). A transactional test's flush empties what the migrations
seeded, so the `seeded` fixture puts back the retention rules and the daily plan's periodic
task with the migrations' own functions. Each test has a Redis database of its own as broker
(CELERY_BROKER_URL, read from the environment), flushed before and after, so nothing it queues
or leaves unacknowledged reaches another test; everything runs on that database's default
queue, the one the planner itself queues purges on. Workers get a lease of 3 seconds and
batches of 2 rows, so a small merchant spans many batches and a dead worker's lease runs out
within the test.
"""

import importlib
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from junoprivacy.celery import app
from retention import services
from retention.engine import Erasure, Scope
from retention.models import ErasureRun, PurgeSchedule
from retention.tasks import plan_purges, purge_merchant

from .conftest import build_shop, merchant_checksum

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3
BATCH_SIZE = 2
DAILY_PLAN = "Rencana penghapusan harian (purge merchant berhenti)"
# Redis databases 1..15, one per test in turn; the rest of the suite uses database 0.
_redis_dbs = itertools.cycle(range(1, 16))


def wait_until(predicate, *, timeout: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


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
    return services.merchant_churn(merchant_id=shop.pk, churned_at=timezone.now() - timedelta(days=31))


def purge_run(shop) -> ErasureRun | None:
    return ErasureRun.objects.filter(merchant_ref=shop.pk, dry_run=False).first()


class Process:
    """A celery subprocess in a session (process group) of its own, logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict, log_path: Path):
        self.name, self.log_path = name, log_path
        with open(log_path, "wb") as log:
            self.popen = subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, *, timeout: float) -> re.Match:
        def found():
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.popen.returncode}:\n{self.log}")
            return re.search(pattern, self.log)

        return wait_until(found, timeout=timeout, what=f"{pattern!r} in the log of {self.name}")

    def kill(self) -> None:
        """SIGKILL the whole group, the pool's child included: a worker that dies, no shutdown."""
        self._killpg(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, grace: float = 10) -> None:
        """SIGTERM (warm shutdown) to the main process, then SIGKILL to whatever is left."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        self._killpg(signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.wait(timeout=10)

    def _killpg(self, sig) -> None:
        try:
            os.killpg(self.popen.pid, sig)  # the group is the session started for this process
        except ProcessLookupError:
            pass


class Cluster:
    """Workers and beat of one test, on the test database and a Redis database of its own."""

    def __init__(self, tmp_path: Path, broker_url: str, database_url: str):
        self.tmp_path, self.broker_url = tmp_path, broker_url
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PURGE_LEASE_SECONDS": str(LEASE_SECONDS),
            "ERASURE_BATCH_SIZE": str(BATCH_SIZE),
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: list[Process] = []

    def _start(self, name: str, env: dict, args: list[str]) -> Process:
        argv = [sys.executable, "-m", "celery", "-A", "junoprivacy", *args]
        process = Process(name, argv, {**self.env, **env}, self.tmp_path / f"{name}-{len(self.processes)}.log")
        self.processes.append(process)
        return process

    def worker(self, name: str = "w1", *, concurrency: int = 1, lease_seconds: int = LEASE_SECONDS) -> Process:
        process = self._start(name, {"PURGE_LEASE_SECONDS": str(lease_seconds)}, [
            "worker", "--pool=prefork", f"--concurrency={concurrency}", "-l", "info", "-n", f"{name}@%h",
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        ])
        process.wait_for_log(rf"{name}@\S+ ready\.", timeout=30)
        return process

    def beat(self) -> Process:
        process = self._start("beat", {}, [
            "beat", "-l", "info", "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile", str(self.tmp_path / "beat.pid"), "-s", str(self.tmp_path / "beat-schedule"),
        ])
        process.wait_for_log(r"beat: Starting", timeout=30)
        return process

    def send(self, task, *args):
        """Queue `task` on this test's broker, as the rest of the project would with .delay()."""
        with app.connection_for_write(self.broker_url) as conn:
            return task.apply_async(args=list(args), connection=conn)

    def logs(self) -> str:
        return "\n".join(p.log for p in self.processes)

    def successes(self, task) -> list[str]:
        """The return values the workers logged for `task`, as text."""
        return re.findall(rf"Task {re.escape(task.name)}\[[^\]]+\] succeeded in [\d.]+s: (.*)", self.logs())

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@pytest.fixture
def seeded(transactional_db):
    """The retention rules and the daily plan, as the data migrations leave them.

    An earlier transactional test's flush (any app's) empties every table; these functions are
    idempotent (update_or_create), so on an intact database they rewrite the same values.
    (serialized_rollback cannot do this: the flush's post_migrate recreates content types under
    new ids, on which loading the serialized ones collides.)
    """
    for name, function in [
        ("0002_seed_retention_rules", "seed"),
        ("0004_seed_hold_rule_and_warnings", "seed"),
        ("0006_daily_purge_schedule", "create"),
    ]:
        getattr(importlib.import_module(f"retention.migrations.{name}"), function)(apps, None)


@pytest.fixture
def cluster(seeded, tmp_path):
    # Depends on transactional_db (through seeded): stopped before the test database is flushed.
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.fail("the worker tests need Redis: run them with scripts/test (it starts one)")
    assert not app.conf.task_always_eager, "the root conftest must leave `worker` tests non-eager"
    assert app.conf.broker_url == redis_url, f"the test process must send to the test Redis, not {app.conf.broker_url}"

    parts = urlsplit(redis_url)
    db = next(_redis_dbs)
    broker_url = urlunsplit(parts._replace(path=f"/{db}"))
    broker = redis.Redis.from_url(broker_url)
    broker.flushdb()
    database_url = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"]))

    started = Cluster(tmp_path, broker_url, database_url)
    try:
        yield started
    finally:
        started.stop()
        broker.flushdb()  # the queue, and what a killed worker left unacknowledged
        broker.close()
        # Captured output of the teardown: pytest shows it when the test failed.
        print(f"---- celery logs ({broker_url}) ----\n{started.logs()}")


# -- the tests ----------------------------------------------------------------------------------


def test_a_worker_purges_a_due_merchant(cluster):
    shop, bystander = build_shop(), build_shop(email_domain="tetangga.id")
    untouched = merchant_checksum(bystander.pk)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    assert planned

    cluster.worker()
    cluster.send(purge_merchant, schedule.pk)

    schedule = wait_until(
        lambda: PurgeSchedule.objects.filter(pk=schedule.pk, state=PurgeSchedule.State.PURGED).first(),
        timeout=30, what="the schedule to be purged",
    )
    run = purge_run(shop)
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 1
    assert run.counts == planned
    assert run.rows_done == run.rows_total == total(planned)
    assert schedule.purged_at and schedule.lease_until is None and schedule.claimed_by == ""
    assert Erasure(Scope.merchant(shop.pk)).count() == {}
    assert merchant_checksum(bystander.pk) == untouched
    assert cluster.successes(purge_merchant) == [f"{{'run': {run.pk}, 'state': 'completed', 'rows': {run.rows_done}}}"]


def test_two_workers_one_merchant_one_purge(cluster):
    shop = build_shop(customers=10, sales=80)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    cluster.worker("w1")
    cluster.worker("w2")

    for _ in range(4):
        cluster.send(purge_merchant, schedule.pk)

    # A copy turned away (logged first) while the schedule is still being purged (read after):
    # the lease held off a concurrent worker; a copy that came before the claim would have won it.
    wait_until(
        lambda: "None" in cluster.successes(purge_merchant)
        and PurgeSchedule.objects.get(pk=schedule.pk).state == PurgeSchedule.State.PURGING,
        timeout=30, what="a copy refused while the purge runs", every=0.02,
    )
    wait_until(lambda: len(cluster.successes(purge_merchant)) == 4, timeout=30, what="all four copies to finish")

    runs = list(ErasureRun.objects.filter(merchant_ref=shop.pk, dry_run=False))
    assert len(runs) == 1
    run = runs[0]
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 1
    assert run.counts == planned  # erased exactly once: nothing counted twice
    assert sorted(cluster.successes(purge_merchant)) == sorted(
        [f"{{'run': {run.pk}, 'state': 'completed', 'rows': {total(planned)}}}"] + ["None"] * 3
    )
    for worker in cluster.processes:  # both workers took copies: they really raced
        assert re.search(r"purge_merchant\[[^\]]+\] succeeded", worker.log), worker.log
    assert PurgeSchedule.objects.get(pk=schedule.pk).state == PurgeSchedule.State.PURGED
    assert Erasure(Scope.merchant(shop.pk)).count() == {}


def test_a_worker_killed_mid_purge_is_taken_over_by_the_daily_plan(cluster):
    shop = build_shop(customers=20, sales=250)
    bystander = build_shop(email_domain="tetangga.id")
    untouched = merchant_checksum(bystander.pk)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()

    first = cluster.worker("w1")
    cluster.send(purge_merchant, schedule.pk)
    wait_until(
        lambda: ErasureRun.objects.filter(merchant_ref=shop.pk, state=ErasureRun.State.RUNNING, rows_done__gt=0).exists(),
        timeout=30, what="the purge to be under way", every=0.02,
    )
    first.kill()

    run = purge_run(shop)
    schedule.refresh_from_db()
    assert run.state == ErasureRun.State.RUNNING and run.attempts == 1
    assert 0 < run.rows_done < run.rows_total == total(planned), (run.rows_done, run.rows_total)
    assert total(run.counts) == run.rows_done
    # The record claims exactly what was committed: what it counts plus what is left is the plan.
    assert add_counts(run.counts, Erasure(Scope.merchant(shop.pk)).count()) == planned
    assert schedule.state == PurgeSchedule.State.PURGING and schedule.claimed_by and schedule.lease_until

    cluster.worker("w2")
    # Until the dead worker's lease runs out, the planner leaves the purge alone.
    assert schedule.lease_until > timezone.now()
    wait_until(
        lambda: PurgeSchedule.objects.get(pk=schedule.pk).lease_until < timezone.now(),
        timeout=LEASE_SECONDS + 5, what="the dead worker's lease to run out",
    )
    cluster.send(plan_purges)  # what beat sends every day: it re-queues stalled purges

    wait_until(
        lambda: PurgeSchedule.objects.filter(pk=schedule.pk, state=PurgeSchedule.State.PURGED).exists(),
        timeout=30, what="the purge to be finished",
    )
    assert re.search(r"plan_purges\[[^\]]+\] succeeded in [\d.]+s: .*'stalled': 1", cluster.logs())
    runs = list(ErasureRun.objects.filter(merchant_ref=shop.pk, dry_run=False))
    assert [r.pk for r in runs] == [run.pk]  # the dead worker's run, resumed
    run.refresh_from_db()
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 2
    assert run.counts == planned  # nothing counted twice, nothing lost
    assert run.rows_done == run.rows_total == total(planned)
    assert Erasure(Scope.merchant(shop.pk)).count() == {}
    assert merchant_checksum(bystander.pk) == untouched


def test_a_lost_database_connection_is_retried_and_the_purge_finishes(cluster):
    shop = build_shop(customers=10, sales=100)
    bystander = build_shop(email_domain="tetangga.id")
    untouched = merchant_checksum(bystander.pk)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    database = connection.settings_dict["NAME"]

    # A lease longer than the first retry's back-off (0-5 s): the retry must find it released.
    cluster.worker(lease_seconds=30)
    cluster.send(purge_merchant, schedule.pk)
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

    # Hold the schedule's row so that the worker's next lease renewal (between batches, in
    # autocommit) waits on it, then end the worker's connection, as a database restart or a
    # failover would: the error comes outside any transaction of the engine.
    with transaction.atomic():
        PurgeSchedule.objects.select_for_update().get(pk=schedule.pk)
        [(pid, query)] = wait_until(waiting_on_our_lock, timeout=10, what="the worker to wait on the schedule's row")
        assert 'UPDATE "retention_purgeschedule" SET "lease_until"' in query
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0]
    assert purge_run(shop).rows_done < total(planned)

    wait_until(
        lambda: PurgeSchedule.objects.filter(pk=schedule.pk, state=PurgeSchedule.State.PURGED).exists(),
        timeout=30, what="the purge to finish after the retry",
    )
    assert re.search(r"purge_merchant\[[^\]]+\] retry: Retry in \d+s: (OperationalError|InterfaceError)", cluster.logs())
    run = purge_run(shop)
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 2  # the same run, resumed by the retry
    assert run.counts == planned
    assert cluster.successes(purge_merchant) == [f"{{'run': {run.pk}, 'state': 'completed', 'rows': {total(planned)}}}"]
    assert Erasure(Scope.merchant(shop.pk)).count() == {}
    assert merchant_checksum(bystander.pk) == untouched


def test_beat_runs_the_daily_plan_and_the_plan_purges_a_due_merchant(cluster):
    shop, bystander = build_shop(), build_shop(email_domain="tetangga.id")
    untouched = merchant_checksum(bystander.pk)
    schedule = due_schedule(shop)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    # The seeded daily plan, made due every second, as an officer would edit it in the admin.
    daily = PeriodicTask.objects.get(name=DAILY_PLAN)
    daily.crontab = None
    daily.interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    daily.save()

    cluster.worker()
    beat = cluster.beat()
    wait_until(
        lambda: PurgeSchedule.objects.filter(pk=schedule.pk, state=PurgeSchedule.State.PURGED).exists(),
        timeout=30, what="beat -> plan_purges -> purge_merchant to purge the merchant",
    )
    beat.stop()

    assert re.search(rf"Sending due task {re.escape(DAILY_PLAN)} \(retention\.tasks\.plan_purges\)", beat.log)
    assert re.search(r"plan_purges\[[^\]]+\] succeeded in [\d.]+s: .*'due': 1", cluster.logs())
    run = purge_run(shop)
    assert run.state == ErasureRun.State.COMPLETED and run.attempts == 1 and run.counts == planned
    assert Erasure(Scope.merchant(shop.pk)).count() == {}
    assert merchant_checksum(bystander.pk) == untouched
