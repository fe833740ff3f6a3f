#!/usr/bin/env python3
"""Benchmark of the merchant purge: the erasure engine against a raw-SQL baseline and the ORM.

    python3 bench/purge.py                  # the whole benchmark, one command (2 to 4 minutes)
    python3 bench/purge.py --small 2000 --large 20000 --planner-merchants 10000   # a quick look
    ERASURE_BATCH_SIZE=5000 python3 bench/purge.py   # the engine with another batch size

Run from anywhere, it sets up .venv as scripts/test does, starts the throwaway PostgreSQL and
Redis of scripts/services.sh, migrates, runs the benchmark in the venv and stops the servers.
Nothing here is part of the test suite.

What it does, on that PostgreSQL:
1. Seeds, with INSERT ... SELECT generate_series (no ORM rows; bench/purgekit.py, shared with
   bench/fleet.py), identical copies (one per contender and run) of a small and of a large
   churned merchant (sales with 2-3 lines and one payment each, loyalty customers, staff, device
   sessions, outlets named after the business, a bank account, simple-history rows for
   merchant, outlet, staff, customer and bank account, its purge schedule with both warnings
   and their sent e-mails in the outbox), plus one bystander merchant, still a customer, that
   nobody purges.
2. Purges each copy with one contender, each in a fresh process (`--purge-only CONTENDER ID`,
   so that none profits from another's warm connection) after VACUUM ANALYZE and CHECKPOINT:
   - engine:   retention.engine.Erasure(Scope.merchant(id)).run() with the batch size of
               settings.ERASURE_BATCH_SIZE; its process reports its peak memory too;
   - raw SQL:  the same deletes and updates as a few set-based statements in one transaction
               (the keyed hashes of the merchant's identifiers, outlet names and message
               addresses computed in Python, as the engine does, for those few rows);
   - ORM:      what a Django team writes first: the cascade collector's delete() on customers,
               sessions, staff and bank accounts, QuerySet.update() on what is kept (one
               update() per row where a keyed hash is needed: outlets, messages).
   The small merchant is purged three times per contender (`--small-runs`) and the median
   kept: one purge takes well under a second and a shared machine is noisy.
   After each it checks the end state (nothing personal left, outlet names and message
   addresses hashed, every sale, line, payment and message kept, engine and raw SQL leaving
   exactly the same rows) and that the bystander's checksum
   did not change; any difference stops the benchmark with an error.
3. Prints rows changed (the engine's counts), seconds and rows per second for the three, the
   engine's ratios, its peak memory at both sizes, and the daily planner's cost at 100,000
   merchants holding a schedule, with the warnings and sent messages of those whose warning
   days have come (schedules_due evaluated, and EXPLAIN ANALYZE of its query).
4. Prints the targets (engine >= 0.5 x raw SQL rows/s at both sizes; the engine's peak memory
   grows by at most 20 MB from the small merchant to the large one) and whether each is met.

The raw-SQL baseline names tables: it is a benchmark of hand-written SQL, not a second data map.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, inside_services, reexec_inside_services  # noqa: E402
from purgekit import (  # noqa: E402
    MERCHANT_HASHED, MESSAGE_CLEARED, MESSAGE_HASHED, OUTLET_CLEARED, OUTLET_HASHED, Size, analyse, checksum,
    hashed_values, merchant_values, raw_sql_purge, seed_bystander, seed_merchants, seed_schedules, seed_warnings,
    size_for, verify,
)


MB = 1024 * 1024
THROUGHPUT_TARGET = 0.5  # engine rows/s at least half the raw-SQL baseline's
MEMORY_TARGET_MB = 20  # peak memory may grow at most this much from small to large


# -- sizes -----------------------------------------------------------------------------------


def sizes_from(args) -> list[Size]:
    return [size_for("small", args.small), size_for("large", args.large)]


def seed_copy(cursor, size: Size, *, business_name: str) -> int:
    """One churned merchant with its due purge schedule and its two delivered warnings."""
    (merchant_id,) = seed_merchants(cursor, size, [business_name])
    seed_schedules(cursor, [merchant_id])
    return merchant_id


# -- the three contenders --------------------------------------------------------------------


def engine_batch_size() -> int:
    from django.conf import settings

    return int(settings.ERASURE_BATCH_SIZE)


def current_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def high_water_mark() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


CONTENDERS = {"engine": "engine", "raw-sql": "raw SQL", "orm": "ORM"}  # command-line name -> shown name


def purge_only(contender: str, merchant_id: int) -> None:
    """Subprocess: one purge by one contender; its time, rows and memory as JSON on stdout.

    Every contender runs in a fresh process with a fresh database connection, so none
    inherits another's warm caches, and the engine's peak memory is its own.
    """
    import resource

    from django.db import connection

    connection.ensure_connection()
    report: dict = {"contender": contender, "merchant": merchant_id}
    if contender == "engine":
        from retention.engine import Erasure, Scope

        report["batch_size"] = engine_batch_size()
        engine = Erasure(Scope.merchant(merchant_id), batch_size=report["batch_size"])
        engine.plan()  # imports and the data map's walk, before the measure
        work = engine.run
    elif contender == "raw-sql":
        work = lambda: raw_sql_purge(merchant_id)  # noqa: E731
    else:
        work = lambda: orm_purge(merchant_id)  # noqa: E731
    try:  # reset the high-water mark so that it measures the purge, not start-up (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        hwm_reset = True
    except OSError:
        hwm_reset = False
    rss_before = current_rss()
    started = time.perf_counter()
    outcome = work()
    seconds = time.perf_counter() - started
    report.update(
        seconds=seconds,
        rss_before=rss_before,
        maxrss_after=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        hwm_after=high_water_mark() if hwm_reset else None,
    )
    if contender == "engine":
        report.update(
            completed=outcome.completed, stopped_reason=outcome.stopped_reason, counts=outcome.counts,
            total=outcome.total,
        )
    else:
        report.update(completed=True, total=outcome)
    json.dump(report, sys.stdout)


def run_purge(contender: str, merchant_id: int) -> dict:
    import subprocess

    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--purge-only", contender, str(merchant_id)],
        capture_output=True, text=True, cwd=ROOT,
    )
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"the {contender} purge of merchant {merchant_id} failed (exit {out.returncode})")
    report = json.loads(out.stdout)
    if not report["completed"]:
        raise SystemExit(f"the {contender} purge of merchant {merchant_id} stopped: {report['stopped_reason']}")
    return report


def orm_purge(merchant_id: int) -> int:
    """What a Django team writes first: cascade delete() and QuerySet.update(). Returns the ORM's counts."""
    from django.db import transaction

    from merchants.models import BankAccount, DeviceSession, LoyaltyCustomer, Merchant, Outlet, Payment, Sale, StaffUser
    from messaging.models import OutboundMessage

    def hashed_one_by_one(queryset, kinds: dict, cleared: dict) -> int:
        """update() cannot compute a keyed hash: one UPDATE per row."""
        n = 0
        for row in queryset.values("pk", *kinds):
            n += queryset.filter(pk=row["pk"]).update(**{**hashed_values(row, kinds), **cleared})
        return n

    rows = 0
    with transaction.atomic():
        for model in (LoyaltyCustomer, DeviceSession, StaffUser, BankAccount):
            rows += model.objects.filter(merchant_id=merchant_id).delete()[0]
        rows += Sale.objects.filter(merchant_id=merchant_id).update(
            customer=None, cashier=None, receipt_email=None, receipt_phone=None, receipt_phone_e164=None
        )
        rows += Payment.objects.filter(merchant_id=merchant_id).update(bank_name=None, card_masked=None, reference=None)
        rows += hashed_one_by_one(Outlet.objects.filter(merchant_id=merchant_id), OUTLET_HASHED, OUTLET_CLEARED)
        rows += hashed_one_by_one(
            OutboundMessage.objects.filter(merchant_id=merchant_id), MESSAGE_HASHED, MESSAGE_CLEARED
        )
        current = Merchant.objects.filter(pk=merchant_id).values(*MERCHANT_HASHED).get()
        rows += Merchant.objects.filter(pk=merchant_id).update(**merchant_values(current))
    return rows


# -- the daily planner at 100,000 merchants --------------------------------------------------


def planner(cursor, merchants: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from retention.models import RetentionRule
    from retention.selectors import schedules_due

    rule = RetentionRule.objects.get(key="merchant-churn")
    user, _ = get_user_model().objects.get_or_create(username="bench-officer")
    now = timezone.now()
    # The copies purged above were purged by hand (engine, SQL, ORM), not through their schedules.
    cursor.execute("UPDATE retention_purgeschedule SET state = 'purged', purged_at = %s WHERE state = 'scheduled'", [now])
    started = time.perf_counter()
    cursor.execute(
        """
        INSERT INTO merchants_merchant (business_name, business_type, tax_number, owner_name, owner_gender,
            owner_id_number, owner_email, owner_phone, office_address, billing_address, plan,
            subscription_started_at, churned_at, preferred_language, country_of_origin, created_at)
        SELECT 'Planner ' || g, 'Ritel', '', 'Pemilik ' || g, '', '', 'p' || g || '@example.id', '', '', '',
               'basic', %(now)s::timestamptz - interval '400 days', NULL, 'id',
               'ID', %(now)s::timestamptz - interval '400 days'
        FROM generate_series(1, %(n)s) g
        RETURNING id
        """,
        {"now": now, "n": merchants},
    )
    ids = sorted(i for (i,) in cursor.fetchall())
    first = ids[0]
    # 100 due and warned (20 of them held), 20 due whose 3-day warning is still being sent, 1% purged
    # and 1% cancelled in the past, the rest due in 1..45 days; churned the rule's period before.
    numbered = "(SELECT id m, row_number() OVER (ORDER BY id) g FROM merchants_merchant WHERE id >= %(first)s) x"
    p = {"rule": rule.pk, "now": now, "first": first, "period": rule.period_delta.days, "days": rule.warnings}
    cursor.execute(
        f"""
        INSERT INTO retention_purgeschedule (merchant_id, rule_id, churned_at, due_at, state, updated_at, purged_at)
        SELECT m, %(rule)s, due - %(period)s * interval '1 day', due,
               CASE WHEN g <= 120 THEN 'scheduled' WHEN mod(g, 50) = 1 THEN 'purged'
                    WHEN mod(g, 50) = 2 THEN 'cancelled' ELSE 'scheduled' END,
               %(now)s, CASE WHEN g > 120 AND mod(g, 50) = 1 THEN %(now)s END
        FROM {numbered}
        CROSS JOIN LATERAL (SELECT CASE
            WHEN g <= 120 OR mod(g, 50) IN (1, 2) THEN %(now)s::timestamptz - interval '1 hour' - g * interval '1 minute'
            ELSE %(now)s::timestamptz + (1 + mod(g, 45)) * interval '1 day' END due) d
        """,
        p,
    )
    # The merchant's churn date is its schedule's (none for a merchant that came back).
    cursor.execute(
        """
        UPDATE merchants_merchant m SET churned_at = s.churned_at FROM retention_purgeschedule s
        WHERE s.merchant_id = m.id AND m.id >= %(first)s AND s.state <> 'cancelled'
        """,
        p,
    )
    # Each warning (14 and 3 days) given on its day and sent a minute later, for every schedule
    # whose warning day has come; the 3-day ones of the 20 (g 101..120) still queued.
    warnings = seed_warnings(
        cursor,
        f"""
        SELECT s.id, s.merchant_id, w.days, s.due_at - w.days * interval '1 day',
               CASE WHEN x.g > 100 AND x.g <= 120 AND w.days = 3 THEN NULL
                    ELSE s.due_at - w.days * interval '1 day' + interval '1 minute' END
        FROM {numbered} JOIN retention_purgeschedule s ON s.merchant_id = x.m
        CROSS JOIN unnest(%(days)s::int[]) w(days)
        WHERE s.due_at - w.days * interval '1 day' + interval '1 minute' <= %(now)s
        """,
        p,
    )
    cursor.execute(
        """
        INSERT INTO retention_legalhold (merchant_id, subject_email, subject_phone, reason, detail, placed_at,
            lift_reason, placed_by_id)
        SELECT m, '', '', 'fraud', 'bench', %(now)s, '', %(user)s
        FROM (SELECT id m FROM merchants_merchant WHERE id >= %(first)s ORDER BY id LIMIT 20) x
        """,
        {"now": now, "user": user.pk, "first": first},
    )
    for table in ("retention_purgeschedule", "retention_purgewarning", "messaging_outboundmessage",
                  "retention_legalhold", "merchants_merchant"):
        cursor.execute(f"VACUUM ANALYZE {table}")
    seeded = time.perf_counter() - started

    timings = []
    due = []
    for _ in range(5):
        t = time.perf_counter()
        due = list(schedules_due(now=now).values_list("pk", flat=True))
        timings.append(time.perf_counter() - t)
    if len(due) != 80:
        raise SystemExit(f"schedules_due found {len(due)} due schedules, 80 expected")
    plan = schedules_due(now=now).values_list("pk", flat=True).explain(analyze=True, buffers=True)
    connection.close()
    return {
        "merchants": merchants, "seeded": seeded, "timings": timings, "due": len(due), "plan": plan, "warnings": warnings,
    }


# -- the benchmark ---------------------------------------------------------------------------


def fmt_rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds else "inf"


def main_bench(args) -> int:
    from statistics import median

    from django.db import connection

    sizes = sizes_from(args)
    runs = {sizes[0].name: args.small_runs, sizes[1].name: args.large_runs}
    bench_started = time.perf_counter()
    print(f"== bench/purge.py on {connection.settings_dict['NAME']} (PostgreSQL {connection.pg_version})")
    print(f"   engine batch size: settings.ERASURE_BATCH_SIZE = {engine_batch_size()}")

    # 1. Seed ---------------------------------------------------------------------------------
    copies: dict[str, dict[str, list[int]]] = {}
    expected: dict[str, dict] = {}
    with connection.cursor() as cursor:
        for size in sizes:
            started = time.perf_counter()
            copies[size.name] = {
                who: [seed_copy(cursor, size, business_name=f"Toko Uji {size.name}") for _ in range(runs[size.name])]
                for who in CONTENDERS
            }
            cursor.execute(
                """SELECT (SELECT count(*) FROM merchants_sale WHERE merchant_id = %(m)s),
                          (SELECT count(*) FROM merchants_saleline WHERE merchant_id = %(m)s),
                          (SELECT count(*) FROM merchants_payment WHERE merchant_id = %(m)s),
                          (SELECT count(*) FROM messaging_outboundmessage WHERE merchant_id = %(m)s)""",
                {"m": copies[size.name]["engine"][0]},
            )
            sales, lines, payments, messages = cursor.fetchone()
            expected[size.name] = {"sales": sales, "lines": lines, "payments": payments, "messages": messages}
            print(f"   seeded {len(CONTENDERS) * runs[size.name]} identical copies of {size.name} "
                  f"({runs[size.name]} per contender): {sales:,} sales, {lines:,} lines, {payments:,} payments, "
                  f"{size.customers} customers, {size.staff} staff, {size.outlets} outlets, "
                  f"{size.sessions:,} sessions each, {messages} warnings (delivered) with their messages, "
                  f"in {time.perf_counter() - started:.1f}s")
        bystander = seed_bystander(cursor, sizes[0])
        bystander_sum = checksum(cursor, bystander)
        print(f"   seeded the bystander merchant {bystander} (a small one, still a customer); checksum {bystander_sum}")

    # 2. Purge: each contender in a fresh process, after VACUUM ANALYZE and CHECKPOINT ---------
    results: dict[str, dict[str, list[dict]]] = {}
    reference: dict[str, dict] = {}
    orm_history: dict[str, dict] = {}
    for size in sizes:
        results[size.name] = {who: [] for who in CONTENDERS}
        for run in range(runs[size.name]):
            for who, shown in CONTENDERS.items():
                merchant_id = copies[size.name][who][run]
                with connection.cursor() as cursor:
                    analyse(cursor)
                report = run_purge(who, merchant_id)
                with connection.cursor() as cursor:
                    state = verify(
                        cursor, merchant_id, expected=expected[size.name], reference=reference.get(size.name),
                        history_kept=who == "orm",
                    )
                    if checksum(cursor, bystander) != bystander_sum:
                        raise SystemExit(f"the {shown} purge of merchant {merchant_id} changed the bystander's rows")
                reference.setdefault(size.name, state)
                if who == "orm":
                    orm_history[size.name] = state["history"]
                results[size.name][who].append(report)
        print(f"   purged {size.name} {runs[size.name]} x three ways; every end state checked, bystander unchanged")
        engine_totals = {r["total"] for r in results[size.name]["engine"]}
        if len(engine_totals) != 1:
            raise SystemExit(f"the engine changed a different number of rows on identical copies: {engine_totals}")

    # 3. Planner ------------------------------------------------------------------------------
    with connection.cursor() as cursor:
        plan = planner(cursor, args.planner_merchants)

    # Report ----------------------------------------------------------------------------------
    print()
    print("== Purge throughput (rows changed = deleted + anonymised, from the engine's counts)")
    header = (f"{'size':<6} {'sales':>8} {'rows':>9}  {'contender':<8} {'seconds':>8} {'rows/s':>9}  "
              f"{'engine/it':>9}  {'peak RSS':>9}  runs (s)")
    print(header)
    print("-" * len(header))
    summary: dict[str, dict] = {}
    for size in sizes:
        rows = results[size.name]["engine"][0]["total"]
        seconds = {who: median(r["seconds"] for r in reports) for who, reports in results[size.name].items()}
        summary[size.name] = {
            "vs raw": seconds["raw-sql"] / seconds["engine"],
            "vs orm": seconds["orm"] / seconds["engine"],
        }
        for who, shown in CONTENDERS.items():
            reports = results[size.name][who]
            ratio = "" if who == "engine" else f"{seconds[who] / seconds['engine']:.2f} x"
            peak = max(r["maxrss_after"] for r in reports) / MB
            each = ", ".join(f"{r['seconds']:.2f}" for r in reports)
            print(f"{size.name:<6} {expected[size.name]['sales']:>8,} {rows:>9,}  {shown:<8} {seconds[who]:>8.2f} "
                  f"{fmt_rate(rows, seconds[who]):>9}  {ratio:>9}  {peak:>6.1f} MB  {each}")
    print("   seconds: the median of the runs; rows/s = the engine's rows changed / seconds, for all three;")
    print("   engine/it = the engine's rows/s divided by the contender's (= contender's seconds / engine's).")
    print("   Rows each contender reports itself (same work, counted its own way):")
    for size in sizes:
        own = {who: results[size.name][who][0]["total"] for who in CONTENDERS}
        print(f"     {size.name}: engine {own['engine']:,}, raw SQL rowcounts {own['raw-sql']:,}, ORM delete()+update() "
              f"{own['orm']:,} (the collector's SET NULL on sales is not in it; update() rewrites every sale)")
    for size in sizes:
        counts = results[size.name]["engine"][0]["counts"]
        print(f"   engine counts, {size.name}: " + ", ".join(
            f"{table.removeprefix('merchants_')} {action} {n:,}"
            for table, actions in sorted(counts.items()) for action, n in sorted(actions.items())))
    print("   History as the ORM approach leaves it: QuerySet.update() writes no history row, delete() adds a '-'")
    print("   row per deleted record through simple-history's signal (a full copy, personal data included), and the")
    print("   old copies stay as they were:")
    for size in sizes:
        print(f"     {size.name}: " + ", ".join(f"{k} {v}" for k, v in orm_history[size.name].items()))
    print("   The engine and the raw-SQL baseline leave no history row of a deleted record and no personal data in")
    print("   the history of a kept one (checked); their live end states are identical (checked), and the ORM's")
    print("   live tables end the same too.")

    print()
    print("== Engine peak memory (a fresh subprocess per purge; Linux RSS)")
    print(f"{'size':<6} {'RSS before':>11} {'peak ru_maxrss':>15} {'growth':>9} {'purge high-water':>17}")
    memory = {}
    for size in sizes:
        e = max(results[size.name]["engine"], key=lambda r: r["maxrss_after"])
        growth = e["maxrss_after"] - e["rss_before"]
        memory[size.name] = (e["maxrss_after"], growth)
        hwm = f"{e['hwm_after'] / MB:.1f} MB" if e["hwm_after"] else "n/a"
        print(f"{size.name:<6} {e['rss_before'] / MB:>8.1f} MB {e['maxrss_after'] / MB:>12.1f} MB "
              f"{growth / MB:>6.1f} MB {hwm:>17}")
    small, large = sizes[0].name, sizes[1].name
    peak_delta = (memory[large][0] - memory[small][0]) / MB
    growth_delta = (memory[large][1] - memory[small][1]) / MB
    met_memory = peak_delta <= MEMORY_TARGET_MB and growth_delta <= MEMORY_TARGET_MB
    print("   RSS before: just before run(), after start-up, connection and the plan; growth = peak - RSS before;")
    print("   purge high-water: VmHWM after resetting it just before run() (the purge's own peak).")
    print(f"   large - small: peak {peak_delta:+.1f} MB, growth during the purge {growth_delta:+.1f} MB")

    print()
    print(f"== Daily planner at {plan['merchants']:,} merchants with a purge schedule and {plan['warnings']:,} warnings "
          f"with their messages (seeded in {plan['seeded']:.1f}s)")
    t = plan["timings"]
    print(f"   schedules_due(now=...) evaluated as a list of ids: {plan['due']} due; first {t[0] * 1000:.1f} ms, "
          f"best of {len(t)} {min(t) * 1000:.1f} ms")
    print("   EXPLAIN (ANALYZE, BUFFERS) of its query:")
    for line in plan["plan"].splitlines():
        print(f"     {line}")

    print()
    print("== Targets")
    met_throughput = True
    for size in sizes:
        ok = summary[size.name]["vs raw"] >= THROUGHPUT_TARGET
        met_throughput &= ok
        print(f"   engine >= {THROUGHPUT_TARGET} x the raw-SQL baseline's rows/s, {size.name}: "
              f"{summary[size.name]['vs raw']:.2f} x -> {'MET' if ok else 'MISSED'}")
    print(f"   engine peak memory from small to large within {MEMORY_TARGET_MB} MB: peak {peak_delta:+.1f} MB, "
          f"growth {growth_delta:+.1f} MB -> {'MET' if met_memory else 'MISSED'}")
    versus_orm = ", ".join(f"{s.name} {summary[s.name]['vs orm']:.2f} x" for s in sizes)
    print(f"   (engine against the ORM approach: {versus_orm}; no target)")
    print(f"\n   whole benchmark: {time.perf_counter() - bench_started:.0f}s")
    return 1 if args.strict and not (met_throughput and met_memory) else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark the merchant purge: engine, raw SQL, ORM (see the module docstring)."
    )
    parser.add_argument("--small", type=int, default=10_000, help="sales of the small merchant (default 10000)")
    parser.add_argument("--large", type=int, default=200_000, help="sales of the large merchant (default 200000)")
    parser.add_argument(
        "--small-runs", type=int, default=3, help="purges per contender of the small merchant, median kept (default 3)"
    )
    parser.add_argument(
        "--large-runs", type=int, default=1, help="purges per contender of the large merchant (default 1)"
    )
    parser.add_argument(
        "--planner-merchants", type=int, default=100_000, help="merchants for the planner (default 100000)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--purge-only", nargs=2, metavar=("CONTENDER", "MERCHANT_ID"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    if not inside_services():
        reexec_inside_services("bench/purge.py", argv)  # does not return
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "junoprivacy.settings")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench/purge.py runs on PostgreSQL: start it as `python3 bench/purge.py`")
    if args.purge_only:
        contender, merchant_id = args.purge_only
        if contender not in CONTENDERS:
            parser.error(f"--purge-only: one of {', '.join(CONTENDERS)}")
        purge_only(contender, int(merchant_id))
        return 0
    return main_bench(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
