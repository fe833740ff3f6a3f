"""The real-worker test harness: Celery workers and beat as subprocesses on the test database.

Shared by every app whose behaviour depends on a real worker (retries, locks, kills, beat): the
`cluster` fixture (root conftest.py) gives a test its own Redis database as broker and starts
`celery worker` / `celery beat` with the test's database, so the data they read is committed
(`django_db(transaction=True)`). A transactional test's flush empties what the data migrations
seeded; `reseed_migrated_data()` puts it back with the migrations' own functions.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
# Redis databases 1..15, one per test in turn; the rest of the suite uses database 0.
REDIS_DBS = itertools.cycle(range(1, 16))
# Data migrations whose rows the flush of a transactional test removes (rules, schedules, the
# officers' groups and every grant, purposes, the first policy): (app, migration, function). Run
# again in the order `migrate` ran them, on the current models (a historical model would leave
# out a NOT NULL column added since). Every RunPython of the project is here or in NOT_SEEDS (a
# test checks).
SEEDING_MIGRATIONS = [
    ("retention", "0002_seed_retention_rules", "seed"),
    ("retention", "0004_seed_hold_rule_and_warnings", "seed"),
    ("retention", "0006_daily_purge_schedule", "create"),
    ("retention", "0009_message_proof_rule_and_named_tasks", "seed"),
    ("requests_portal", "0001_groups", "create_groups"),
    ("requests_portal", "0002_retention_work_permissions", "grant"),
    ("requests_portal", "0003_retention_named_permissions", "grant"),
    ("requests_portal", "0005_seed_deadlines_rules_grants_schedules", "seed"),
    ("requests_portal", "0009_status_callbacks", "seed"),
    ("requests_portal", "0010_correction_items", "grant_view"),
    ("requests_portal", "0011_execution", "grant_view"),
    ("requests_portal", "0012_access_packages", "grant_view"),
    ("requests_portal", "0013_execution_schedules", "seed"),
    ("consent", "0003_seed_purposes_policy_schedules", "forwards"),
    ("consent", "0005_erasure_notices", "grant"),
]
# RunPython operations that seed nothing a flush removes.
NOT_SEEDS = {
    ("consent", "0002_ledger_append_only", "forwards"): "creates the ledger's triggers (schema, kept by a flush)",
    ("retention", "0008_claims_on_runs_purge_warnings", "carry_over"): "moves old rows into new columns",
}


@functools.cache
def _seeders() -> list:
    """The seeding functions, in the order of the migration plan."""
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    plan: list = []
    for leaf in sorted(graph.leaf_nodes()):
        plan += [node for node in graph.forwards_plan(leaf) if node not in plan]
    return [
        getattr(importlib.import_module(f"{app_label}.migrations.{name}"), function)
        for app_label, name, function in sorted(SEEDING_MIGRATIONS, key=lambda s: plan.index(s[:2]))
    ]


def reseed_migrated_data() -> None:
    """Put back what the data migrations seeded. Idempotent: on an intact database each rewrites
    the same rows (update_or_create, get_or_create; a group's permissions set, then added to)."""
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection, transaction

    from consent.selectors import purposes_forget

    schema_editor = SimpleNamespace(connection=connection)  # the seeders read its alias only
    # Those that create permissions borrow each app config's models_module: put back after.
    saved = {config.label: config.models_module for config in apps.get_app_configs()}
    try:
        with transaction.atomic():
            for function in _seeders():
                function(apps, schema_editor)
    finally:
        for config in apps.get_app_configs():
            config.models_module = saved[config.label]
    purposes_forget()  # purposes are cached per process


def wait_until(predicate, *, timeout: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


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
    """Workers and beat of one test, on the test database and a Redis database of its own.

    `env` holds settings for the subprocesses (e.g. a short lease, small batches).
    """

    def __init__(self, tmp_path: Path, broker_url: str, database_url: str, env: dict | None = None):
        self.tmp_path, self.broker_url = tmp_path, broker_url
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.processes: list[Process] = []

    def _start(self, name: str, env: dict, args: list[str]) -> Process:
        argv = [sys.executable, "-m", "celery", "-A", "junoprivacy", *args]
        process = Process(name, argv, {**self.env, **env}, self.tmp_path / f"{name}-{len(self.processes)}.log")
        self.processes.append(process)
        return process

    def worker(self, name: str = "w1", *, concurrency: int = 1, env: dict | None = None) -> Process:
        process = self._start(name, env or {}, [
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
        from junoprivacy.celery import app

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


def start_cluster(tmp_path: Path, env: dict | None = None):
    """A generator for the `cluster` fixture: a Redis database of its own, stopped and flushed after."""
    import pytest
    import redis
    from django.db import connection

    from junoprivacy.celery import app

    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.fail("the worker tests need Redis: run them with scripts/test (it starts one)")
    assert not app.conf.task_always_eager, "the root conftest must leave `worker` tests non-eager"
    assert app.conf.broker_url == redis_url, f"the test process must send to the test Redis, not {app.conf.broker_url}"

    parts = urlsplit(redis_url)
    broker_url = urlunsplit(parts._replace(path=f"/{next(REDIS_DBS)}"))
    broker = redis.Redis.from_url(broker_url)
    broker.flushdb()
    database_url = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"]))
    started = Cluster(tmp_path, broker_url, database_url, env)
    try:
        yield started
    finally:
        started.stop()
        broker.flushdb()  # the queue, and what a killed worker left unacknowledged
        broker.close()
        # Captured output of the teardown: pytest shows it when the test failed.
        print(f"---- celery logs ({broker_url}) ----\n{started.logs()}")
