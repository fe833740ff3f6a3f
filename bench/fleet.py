#!/usr/bin/env python3
"""Benchmark of the day's whole plan: a fleet of churned merchants purged by real Celery workers.

    python3 bench/fleet.py                       # 1,000 merchants x 2,000 sales, two workers (~8 minutes)
    python3 bench/fleet.py --merchants 100 --sales 500      # a quick look
    python3 bench/fleet.py --workers 4 --strict             # exit 1 when the target is missed

Run from anywhere, it sets up .venv as scripts/test does, starts the throwaway PostgreSQL and
Redis of scripts/services.sh, migrates, runs the benchmark in the venv and stops the servers.
Nothing here is part of the test suite.

What it does, on that PostgreSQL:
1. Seeds, with set-based SQL (bench/purgekit.py, the seeding of bench/purge.py, every table in
   one statement per hundred merchants), two identical copies of a fleet of N merchants
   (sales with 2-3 lines and one payment each, a few loyalty customers, staff, device sessions,
   an outlet, a bank account, simple-history rows), by two connections at once with the
   foreign-key triggers off (every reference is checked afterwards). The fleet copy churned
   in 2025: its schedules are due and both warnings (14 and 3 days) recorded with their
   e-mails, sent and long delivered. The baseline copy is seeded as live merchants and churns
   (same date, same schedule and warnings) only after the fleet's run, so that the plan neither
   detects nor purges it. Plus a bystander merchant, still a customer, that nobody purges, and
   `--profile-merchants` (+1) more fleet merchants spread among the others.
2. Takes the dry-run counts (retention.engine.Erasure(...).count()) of every fleet merchant:
   the reference the runs' counts must equal.
3. Anatomy of a purge task: the function of `retention.merchant_purge` run in one process on
   the profiled merchants, timed per phase (the task's bookkeeping, the dry run at start, the
   stop and claim checks before every batch, the record of every batch, the engine's own
   work), with its queries counted; on the same data as the fleet, just before it.
4. Fleet: starts `--workers` real Celery workers (`celery -A junoprivacy worker --concurrency=1`
   each, junoprivacy.testing.Cluster) on a Redis database of their own, sends
   `retention.purge_plan` once by name, and waits until every schedule of the fleet is purged:
   the plan queues one `retention.merchant_purge` per due merchant and the workers take them.
   Time: from sending the plan to the last schedule's purged_at.
5. Baseline: the baseline copy churns, then is purged by the raw-SQL purge of bench/purge.py
   (set-based statements, one transaction per merchant, its schedule marked purged in it),
   merchant after merchant in ONE fresh process.
6. Checks every end state: every fleet schedule purged; exactly one completed purge run per
   merchant whose counts equal its dry run; nothing personal left (the checks of bench/purge.py,
   profiled merchants included); fleet and baseline leave identical rows, merchant by merchant;
   the bystander's checksum (every row of every table, history and outbox included) unchanged.
   Any difference stops the benchmark with an error.
7. Prints rows changed (the sum of the runs' counts), seconds and rows per second of fleet and
   baseline, their ratio against the target (>= 0.6), the per-merchant overhead, the workers'
   task counts and busy time, and the anatomy.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, inside_services, reexec_inside_services  # noqa: E402
from purgekit import (  # noqa: E402
    CHURN_AFTER, SEED_TIME, Size, analyse, checksum, end_states, problems_in, raw_sql_purge, seed_bystander,
    seed_merchants, seed_schedules,
)

RATIO_TARGET = 0.6  # the fleet's rows/s at least 0.6 x the one-process raw-SQL baseline's
PLAN_TASK = "retention.purge_plan"
PURGE_TASK = "retention.merchant_purge"
STALL_SECONDS = 300  # no schedule purged for this long: the fleet is stuck, stop


def fleet_size(sales: int) -> Size:
    """A small shop: one outlet, a few staff and loyalty customers, a device session every 20 sales."""
    return Size(name="fleet", sales=sales, customers=20, staff=4, outlets=1, sessions=max(10, sales // 20))


def names(n: int) -> list[str]:
    return [f"Toko Armada {i:05d}" for i in range(1, n + 1)]


def split_names(n: int, profiled: int) -> tuple[list[str], list[str]]:
    """N fleet merchants and `profiled` more spread evenly among them (same data, same places in
    the tables), for the anatomy of a purge task."""
    everyone = names(n + profiled)
    step = len(everyone) / profiled if profiled else 0
    picked = {int(j * step + step / 2) for j in range(profiled)}
    return [x for i, x in enumerate(everyone) if i not in picked], [x for i, x in enumerate(everyone) if i in picked]


# -- seeding ---------------------------------------------------------------------------------


def seed_copy(size, merchant_names: list[str], *, churned: bool, chunk: int = 100) -> list[int]:
    """One copy of the fleet (ids in the order of the names), in its own connection (run in a
    thread), foreign-key triggers off. Churned: with its due schedule and delivered warnings."""
    from django.db import connection, transaction

    ids: list[int] = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")  # no FK trigger per row; checked after
            for start in range(0, len(merchant_names), chunk):
                with transaction.atomic():
                    part = seed_merchants(cursor, size, merchant_names[start:start + chunk], churned=churned)
                    if churned:
                        seed_schedules(cursor, part)
                ids += part
            cursor.execute("RESET session_replication_role")
    finally:
        connection.close()
    return ids


def churn_now(cursor, merchant_ids: list[int]) -> None:
    """The baseline copy churns (as the fleet did, same date), with its schedule and warnings."""
    cursor.execute(
        "UPDATE merchants_merchant SET churned_at = %s::timestamptz + %s::interval WHERE id = ANY(%s)",
        [SEED_TIME, CHURN_AFTER, merchant_ids],
    )
    seed_schedules(cursor, merchant_ids)


def check_seeded_references(cursor) -> None:
    """The FK triggers were off while seeding: prove that every reference seeded holds."""
    checks = [
        ("merchants_outlet", "merchant_id", "merchants_merchant"),
        ("merchants_sale", "outlet_id", "merchants_outlet"),
        ("merchants_sale", "cashier_id", "merchants_staffuser"),
        ("merchants_sale", "customer_id", "merchants_loyaltycustomer"),
        ("merchants_saleline", "sale_id", "merchants_sale"),
        ("merchants_payment", "sale_id", "merchants_sale"),
        ("merchants_devicesession", "staff_id", "merchants_staffuser"),
        ("retention_purgewarning", "message_id", "messaging_outboundmessage"),
        ("retention_purgewarning", "schedule_id", "retention_purgeschedule"),
    ]
    for table, column, target in checks:
        cursor.execute(
            f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {target} x WHERE x.id = t.{column})"
        )
        if cursor.fetchone()[0]:
            raise SystemExit(f"seeding left {table}.{column} pointing nowhere")


# -- the baseline: raw SQL, merchant after merchant, one process -----------------------------


def baseline_only(ids_file: str) -> None:
    """Subprocess: the raw-SQL purge of every merchant in the file, one after the other."""
    from django.db import connection

    ids = json.loads(Path(ids_file).read_text())
    connection.ensure_connection()
    rows = 0
    started = time.perf_counter()
    for merchant_id in ids:
        rows += raw_sql_purge(merchant_id, mark_schedule=True)
    seconds = time.perf_counter() - started
    json.dump({"seconds": seconds, "rows": rows, "merchants": len(ids)}, sys.stdout)


def run_child(option: str, ids: list[int], tmp: Path) -> dict:
    ids_file = tmp / f"{option.strip('-')}-ids.json"
    ids_file.write_text(json.dumps(ids))
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), option, str(ids_file)], capture_output=True, text=True, cwd=ROOT
    )
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"{option} failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the fleet: real workers, the plan sent once ---------------------------------------------


def broker_url_for_fleet() -> str:
    parts = urlsplit(os.environ["REDIS_URL"])
    return urlunsplit(parts._replace(path="/1"))  # a database of its own (0 is the cache's)


def run_fleet(fleet_ids: list[int], workers: int, tmp: Path) -> dict:
    import redis
    from django.db import connection

    from junoprivacy.celery import app
    from junoprivacy.testing import Cluster

    tmp.mkdir(parents=True, exist_ok=True)
    broker_url = broker_url_for_fleet()
    redis.Redis.from_url(broker_url).flushdb()
    cluster = Cluster(tmp, broker_url, os.environ["DATABASE_URL"])
    try:
        started_at = time.perf_counter()
        for i in range(workers):
            cluster.worker(f"w{i + 1}", concurrency=1)
        print(f"   {workers} workers ready in {time.perf_counter() - started_at:.1f}s (logs in {tmp})", flush=True)

        with connection.cursor() as cursor:

            def progress():
                cursor.execute(
                    """SELECT count(*) FILTER (WHERE state = 'purged'), count(*) FILTER (WHERE state = 'failed'),
                              max(purged_at)
                       FROM retention_purgeschedule WHERE merchant_id = ANY(%s)""",
                    [fleet_ids],
                )
                return cursor.fetchone()

            with app.connection_for_write(broker_url) as conn:
                sent_at = time.time()
                app.send_task(PLAN_TASK, connection=conn)
            last_change, last_done, shown = time.monotonic(), -1, time.monotonic()
            while True:
                done, failed, last_purge = progress()
                if failed:
                    raise SystemExit(f"{failed} purges failed; worker logs:\n{cluster.logs()[-5000:]}")
                if done == len(fleet_ids):
                    break
                if done != last_done:
                    last_change, last_done = time.monotonic(), done
                elif time.monotonic() - last_change > STALL_SECONDS:
                    raise SystemExit(f"no purge for {STALL_SECONDS}s ({done} of {len(fleet_ids)} done); "
                                     f"worker logs:\n{cluster.logs()[-5000:]}")
                if time.monotonic() - shown > 15:
                    elapsed = time.time() - sent_at
                    print(f"   ... {done:,} of {len(fleet_ids):,} purged after {elapsed:.0f}s", flush=True)
                    shown = time.monotonic()
                time.sleep(0.2)
        seconds = last_purge.timestamp() - sent_at
    finally:
        cluster.stop()
    return {"seconds": seconds, "tasks": task_stats(cluster)}


SUCCEEDED = re.compile(r"Task ([\w.]+)\[[^\]]+\] succeeded in ([\d.]+)s")


def task_stats(cluster) -> dict:
    """From the workers' logs: per worker, tasks succeeded by name and their summed run time;
    and the lines that say something went wrong (retries, errors)."""
    per_worker = {}
    trouble = []
    for process in cluster.processes:
        log = process.log
        tasks: dict[str, list[float]] = defaultdict(list)
        for name, seconds in SUCCEEDED.findall(log):
            tasks[name].append(float(seconds))
        per_worker[process.name] = {name: (len(s), sum(s)) for name, s in sorted(tasks.items())}
        trouble += [line for line in log.splitlines() if re.search(r"\b(ERROR|CRITICAL|Retry in|raised)\b", line)]
    return {"per_worker": per_worker, "trouble": trouble}


# -- anatomy of one purge task, in process ---------------------------------------------------


class Phases:
    """Exclusive wall time and queries per phase: the innermost phase running gets the time."""

    def __init__(self):
        self.stack: list[str] = []
        self.mark = 0.0
        self.seconds: dict[str, float] = defaultdict(float)
        self.db_seconds: dict[str, float] = defaultdict(float)
        self.queries: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)

    def _switch(self):
        now = time.perf_counter()
        if self.stack:
            self.seconds[self.stack[-1]] += now - self.mark
        self.mark = now

    def push(self, name: str):
        self._switch()
        self.stack.append(name)
        self.calls[name] += 1

    def pop(self):
        self._switch()
        self.stack.pop()

    def wrap(self, owner, attr: str, name: str) -> None:
        static = isinstance(inspect.getattr_static(owner, attr), (staticmethod, classmethod))
        original = getattr(owner, attr)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            self.push(name)
            try:
                return original(*args, **kwargs)
            finally:
                self.pop()

        setattr(owner, attr, staticmethod(wrapper) if static else wrapper)

    def execute(self, execute, sql, params, many, context):
        phase = self.stack[-1] if self.stack else "outside"
        self.queries[phase] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.db_seconds[phase] += time.perf_counter() - started


PHASES = [
    ("task", "task and service bookkeeping: lock, due check, run record, claim, finish, schedule"),
    ("dry run", "the dry run at start: Erasure(scope).count(), for rows_total"),
    ("engine", "the engine's own work: page queries, deletes, updates, hashes"),
    ("stop check", "purge_stop_reason() before every batch: schedule, holds, warnings"),
    ("claim check", "RunClaim.check() before every batch: is the claim still ours"),
    ("record", "RunClaim.record() in every batch: lock the run, add the counts, renew the lease"),
]


def profile_only(ids_file: str) -> None:
    """Subprocess: the purge task function run in process on each schedule, timed per phase."""
    from django.db import connection

    import retention.services.purge as purge_service
    from retention import tasks
    from retention.engine import Erasure
    from retention.services.runs import RunClaim

    schedule_ids = json.loads(Path(ids_file).read_text())
    phases = Phases()
    phases.wrap(Erasure, "count", "dry run")
    phases.wrap(Erasure, "run", "engine")
    phases.wrap(purge_service, "purge_stop_reason", "stop check")
    phases.wrap(RunClaim, "check", "claim check")
    phases.wrap(RunClaim, "record", "record")
    connection.ensure_connection()
    tasks.merchant_purge(schedule_ids[0])  # warm: imports, first queries; not counted
    for measure in (phases.seconds, phases.db_seconds, phases.queries, phases.calls):
        measure.clear()
    merchants = schedule_ids[1:]
    started = time.perf_counter()
    with connection.execute_wrapper(phases.execute):
        for schedule_id in merchants:
            phases.push("task")
            try:
                result = tasks.merchant_purge(schedule_id)
            finally:
                phases.pop()
            if not result or result["state"] != "completed":
                raise SystemExit(f"profiled purge of schedule {schedule_id} did not complete: {result}")
    seconds = time.perf_counter() - started
    json.dump(
        {
            "merchants": len(merchants), "seconds": seconds, "phases": dict(phases.seconds),
            "db": dict(phases.db_seconds), "queries": dict(phases.queries), "calls": dict(phases.calls),
        },
        sys.stdout,
    )


# -- the benchmark ---------------------------------------------------------------------------


def fmt_rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds else "inf"


def main_bench(args) -> int:
    from django.conf import settings
    from django.db import connection, transaction

    from retention.engine import Erasure, Scope, total_rows
    from retention.models import ErasureRun, PurgeSchedule

    bench_started = time.perf_counter()
    n, size = args.merchants, fleet_size(args.sales)
    tmp = Path(tempfile.mkdtemp(prefix="juno-fleet-"))
    print(f"== bench/fleet.py on {connection.settings_dict['NAME']} (PostgreSQL {connection.pg_version})")
    print(f"   {n:,} churned merchants x {size.sales:,} sales, {args.workers} workers; engine batch size "
          f"ERASURE_BATCH_SIZE = {settings.ERASURE_BATCH_SIZE}")

    # 1. Seed -----------------------------------------------------------------------------------
    # The fleet copy (N merchants, plus the profiled ones spread among them) is churned, its
    # schedules due and warned; the baseline copy (the same N) is seeded as live merchants and
    # churns after the fleet's run, so that the plan neither detects nor purges it.
    started = time.perf_counter()
    fleet_names, profile_names = split_names(n, args.profile_merchants + 1 if args.profile_merchants else 0)
    with ThreadPoolExecutor(max_workers=2) as pool:
        fleet_future = pool.submit(seed_copy, size, sorted(fleet_names + profile_names), churned=True)
        baseline_future = pool.submit(seed_copy, size, fleet_names, churned=False)
        by_name = dict(zip(sorted(fleet_names + profile_names), fleet_future.result()))
        baseline_ids = baseline_future.result()
    fleet_ids = [by_name[x] for x in fleet_names]
    profile_ids = [by_name[x] for x in profile_names]
    with connection.cursor() as cursor:
        check_seeded_references(cursor)
        bystander = seed_bystander(cursor, size)
        cursor.execute(
            """SELECT (SELECT count(*) FROM merchants_sale WHERE merchant_id = %(m)s),
                      (SELECT count(*) FROM merchants_saleline WHERE merchant_id = %(m)s),
                      (SELECT count(*) FROM merchants_payment WHERE merchant_id = %(m)s),
                      (SELECT count(*) FROM messaging_outboundmessage WHERE merchant_id = %(m)s),
                      (SELECT count(*) FROM merchants_sale), (SELECT count(*) FROM merchants_saleline)""",
            {"m": fleet_ids[0]},
        )
        sales, lines, payments, messages, all_sales, all_lines = cursor.fetchone()
        expected = {"sales": sales, "lines": lines, "payments": payments, "messages": messages}
        bystander_sum = checksum(cursor, bystander)
        analyse(cursor)
    print(f"   seeded in {time.perf_counter() - started:.1f}s: 2 identical copies of {n:,} merchants (fleet and "
          f"baseline){f', and {len(profile_ids)} more for the anatomy' if profile_ids else ''}; each "
          f"{sales:,} sales, {lines:,} lines, {payments:,} payments, {size.customers} customers, {size.staff} staff, "
          f"{size.outlets} outlet, {size.sessions} sessions, a schedule due since 2025 and {messages} delivered "
          f"warnings; {all_sales:,} sales and {all_lines:,} lines in all; bystander {bystander} (still a customer)",
          flush=True)

    # 2. Dry runs (the reference for the runs' counts) --------------------------------------------
    # The counts do not depend on the plan. PostgreSQL's own plan for the dry run's count of the
    # sales still pointing at a merchant's customers (`... AND NOT (id IN (subquery))`) is a merge
    # or hash join over the whole sale.customer_id index or table, 20 to 300 ms a merchant at
    # this size and growing with the table, where index probes take under a millisecond: the
    # reference is taken with those probes forced (the workers' own dry runs keep the defaults;
    # the anatomy shows their cost).
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in ("max_parallel_workers_per_gather = 0", "enable_mergejoin = off", "enable_hashjoin = off"):
            cursor.execute(f"SET LOCAL {setting}")
        dry_runs = {m: Erasure(Scope.merchant(m)).count() for m in fleet_ids}
    dry_rows = sum(total_rows(c) for c in dry_runs.values())
    dry_seconds = time.perf_counter() - started
    print(f"   dry run of every fleet merchant (index nested loops forced): {dry_rows:,} rows to change, in "
          f"{dry_seconds:.1f}s ({dry_seconds / n * 1000:.0f} ms each)", flush=True)

    # 3. Anatomy of a purge task, on the profiled merchants, before the fleet -------------------
    profile = None
    if profile_ids:
        schedule_ids = dict(PurgeSchedule.objects.filter(merchant_id__in=profile_ids).values_list("merchant_id", "pk"))
        profile = run_child("--profile-only", [schedule_ids[m] for m in profile_ids], tmp)
        print(f"   anatomy: {profile['merchants']} purge tasks run in process in {profile['seconds']:.1f}s", flush=True)
        with connection.cursor() as cursor:
            analyse(cursor)

    # 4. Fleet ----------------------------------------------------------------------------------
    print(f"   fleet: {PLAN_TASK} sent once to {args.workers} workers ...", flush=True)
    fleet = run_fleet(fleet_ids, args.workers, tmp / "workers")
    print(f"   fleet done in {fleet['seconds']:.1f}s", flush=True)

    # 5. Baseline -------------------------------------------------------------------------------
    with connection.cursor() as cursor:
        churn_now(cursor, baseline_ids)
        analyse(cursor)
    print("   baseline: raw SQL, merchant after merchant, one process ...", flush=True)
    baseline = run_child("--baseline-only", baseline_ids, tmp)
    print(f"   baseline done in {baseline['seconds']:.1f}s", flush=True)

    # 6. Checks ---------------------------------------------------------------------------------
    started = time.perf_counter()
    problems: list[str] = []
    not_purged = PurgeSchedule.objects.filter(merchant_id__in=fleet_ids).exclude(state="purged").count()
    if not_purged:
        problems.append(f"{not_purged} fleet schedules not purged")
    runs: dict[int, list] = defaultdict(list)
    for run in ErasureRun.objects.filter(merchant_ref__in=fleet_ids, kind="merchant_purge", dry_run=False):
        runs[run.merchant_ref].append(run)
    rows = 0
    for m in fleet_ids:
        mine = runs.get(m, [])
        if len(mine) != 1 or mine[0].state != "completed":
            problems.append(f"merchant {m}: runs {[(r.pk, r.state) for r in mine]}, one completed expected")
            continue
        if mine[0].counts != dry_runs[m]:
            problems.append(f"merchant {m}: run counts {mine[0].counts} != dry run {dry_runs[m]}")
        rows += total_rows(mine[0].counts)
    profiled_runs = ErasureRun.objects.filter(merchant_ref__in=profile_ids, kind="merchant_purge", dry_run=False)
    if profiled_runs.exclude(state="completed").exists() or profiled_runs.count() != len(profile_ids):
        problems.append("a profiled merchant has no completed run, or more than one")
    with connection.cursor() as cursor:
        for m, state in end_states(cursor, profile_ids).items():
            problems += [f"profiled merchant {m}: {p}" for p in problems_in(
                state, expected=expected, reference=None, history_kept=False)]
        fleet_states = end_states(cursor, fleet_ids)
        baseline_states = end_states(cursor, baseline_ids)
        if checksum(cursor, bystander) != bystander_sum:
            problems.append("the bystander's rows changed")
    for f, b in zip(fleet_ids, baseline_ids):
        for who, m, reference in (("fleet", f, baseline_states[b]), ("baseline", b, None)):
            state = (fleet_states if who == "fleet" else baseline_states)[m]
            problems += [f"{who} merchant {m}: {p}" for p in problems_in(
                state, expected=expected, reference=reference, history_kept=False)]
    if problems:
        raise SystemExit("END STATE WRONG:\n  " + "\n  ".join(problems[:40]) + (
            f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""))
    print(f"   every end state checked in {time.perf_counter() - started:.1f}s: {n:,} schedules purged, one completed "
          f"run each with the counts of its dry run, nothing personal left, fleet = baseline row for row, "
          f"bystander unchanged", flush=True)

    # Report ------------------------------------------------------------------------------------
    fleet_s, base_s, workers = fleet["seconds"], baseline["seconds"], args.workers
    ratio = base_s / fleet_s
    overhead = (fleet_s * workers - base_s) / n
    print()
    print("== The day's plan: N churned merchants purged (rows changed = the sum of the runs' counts)")
    header = f"{'contender':<34} {'merchants':>9} {'rows':>11} {'seconds':>8} {'rows/s':>9}"
    print(header)
    print("-" * len(header))
    contenders = ((f"fleet: plan + {workers} Celery workers", fleet_s), ("baseline: raw SQL, one process", base_s))
    for shown, seconds in contenders:
        print(f"{shown:<34} {n:>9,} {rows:>11,} {seconds:>8.1f} {fmt_rate(rows, seconds):>9}")
    print(f"   fleet: from sending {PLAN_TASK} to the last schedule's purged_at (the plan, the queue, every purge);")
    print("   baseline: the raw-SQL purges one after the other, one transaction each, in one process (its own")
    print(f"   rowcounts: {baseline['rows']:,}, the same rows plus the {n:,} schedules it marks purged).")
    print(f"   per merchant: fleet {fleet_s / n * 1000:.1f} ms of wall time, {fleet_s * workers / n * 1000:.1f} ms of "
          f"worker time; baseline {base_s / n * 1000:.1f} ms")
    print(f"   per-merchant overhead = (fleet seconds x {workers} workers - baseline seconds) / N = "
          f"{overhead * 1000:.1f} ms: the worker time a merchant costs beyond what the hand-written SQL spends on it")

    print()
    print("== Workers (from their logs: tasks succeeded, and their summed run time)")
    busy_total, tasks_total = 0.0, 0
    for name, tasks in fleet["tasks"]["per_worker"].items():
        busy = sum(sec for _, sec in tasks.values())
        count = sum(c for c, _ in tasks.values())
        busy_total, tasks_total = busy_total + busy, tasks_total + count
        shown = ", ".join(f"{t} {c:,} ({sec:.1f}s)" for t, (c, sec) in tasks.items())
        print(f"   {name}: {count:,} tasks, busy {busy:.1f}s of {fleet_s:.1f}s ({busy / fleet_s:.0%}): {shown}")
    purge_runs = [t.get(PURGE_TASK, (0, 0.0)) for t in fleet["tasks"]["per_worker"].values()]
    purge_count, purge_busy = sum(c for c, _ in purge_runs), sum(sec for _, sec in purge_runs)
    plan_runs = [t.get(PLAN_TASK, (0, 0.0)) for t in fleet["tasks"]["per_worker"].values()]
    between = (fleet_s * workers - busy_total) / max(tasks_total, 1)
    print(f"   tasks in all: {tasks_total:,} ({purge_count:,} {PURGE_TASK}, {sum(c for c, _ in plan_runs)} {PLAN_TASK} "
          f"in {sum(sec for _, sec in plan_runs):.2f}s)")
    print(f"   a purge task ran {purge_busy / max(purge_count, 1) * 1000:.1f} ms on average; between tasks (Celery, "
          f"broker, idle) {between * 1000:.1f} ms per task")
    if fleet["tasks"]["trouble"]:
        print(f"   {len(fleet['tasks']['trouble'])} log lines about retries or errors, e.g.:")
        for line in fleet["tasks"]["trouble"][:5]:
            print(f"     {line}")

    if profile:
        k = profile["merchants"]
        total = sum(profile["phases"].values())
        print()
        print(f"== Anatomy of a purge task: the function of {PURGE_TASK} run in one process, alone, on {k} merchants")
        print(f"   of the same size spread among the fleet, just before it ({total / k * 1000:.1f} ms each)")
        print(f"{'phase':<12} {'ms/merchant':>11} {'of which SQL':>12} {'queries':>8} {'calls':>6}  what")
        for key, what in PHASES:
            print(f"{key:<12} {profile['phases'].get(key, 0) / k * 1000:>11.1f} "
                  f"{profile['db'].get(key, 0) / k * 1000:>12.1f} {profile['queries'].get(key, 0) / k:>8.1f} "
                  f"{profile['calls'].get(key, 0) / k:>6.1f}  {what}")
        queries = sum(profile["queries"].values()) / k
        print(f"{'all':<12} {total / k * 1000:>11.1f} {sum(profile['db'].values()) / k * 1000:>12.1f} {queries:>8.1f}")
        engine = profile["phases"].get("engine", 0) / k
        print("   ms/merchant: exclusive wall time (a nested phase's time is its own, not its caller's); SQL: time")
        print("   waiting on the database; queries and calls: per merchant. The raw-SQL baseline spends "
              f"{base_s / n * 1000:.1f} ms on a merchant,")
        around = total / k - engine
        print(f"   the engine's own work {engine * 1000:.1f} ms, everything around it {around * 1000:.1f} ms "
              f"(in the fleet, where {workers} workers and PostgreSQL share the cores, a task took "
              f"{purge_busy / max(purge_count, 1) * 1000:.1f} ms).")

    print()
    print("== Target")
    met = ratio >= RATIO_TARGET
    print(f"   fleet >= {RATIO_TARGET} x the raw-SQL baseline's rows/s: {ratio:.2f} x -> {'MET' if met else 'MISSED'}")
    print(f"\n   whole benchmark: {time.perf_counter() - bench_started:.0f}s")
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if args.strict and not met else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark the day's purge plan through real Celery workers against raw SQL (see the docstring)."
    )
    parser.add_argument("--merchants", type=int, default=1_000, help="churned merchants in the fleet (default 1000)")
    parser.add_argument("--sales", type=int, default=2_000, help="sales per merchant (default 2000)")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers, --concurrency=1 each (default 2)")
    parser.add_argument(
        "--profile-merchants", type=int, default=20,
        help="merchants purged in process to time the phases of a purge task (default 20; 0: skip)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--baseline-only", metavar="IDS_FILE", help=argparse.SUPPRESS)
    parser.add_argument("--profile-only", metavar="IDS_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.merchants < 1 or args.sales < 1 or args.workers < 1:
        parser.error("--merchants, --sales and --workers must be at least 1")

    if not inside_services():
        reexec_inside_services("bench/fleet.py", argv)  # does not return
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "junoprivacy.settings")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench/fleet.py runs on PostgreSQL: start it as `python3 bench/fleet.py`")
    if args.baseline_only:
        baseline_only(args.baseline_only)
        return 0
    if args.profile_only:
        profile_only(args.profile_only)
        return 0
    return main_bench(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
