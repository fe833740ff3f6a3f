#!/usr/bin/env python3
"""Benchmark of the access package (requests_portal.services.access_package_build): peak memory
and throughput against a `COPY ... TO STDOUT` of the same rows, in the same run.

    python3 bench/export.py                          # 1,000, 10,000 and 100,000 sales
    python3 bench/export.py --sizes 1000,10000       # a quick look
    python3 bench/export.py --strict                 # exit 1 when a target is missed

Run from anywhere, it sets up .venv as scripts/test does, starts the throwaway PostgreSQL and
Redis of scripts/services.sh, migrates, runs the benchmark in the venv and stops the servers
(bench/bootstrap.py). Nothing here is part of the test suite.

What it does, for each size N:
1. Seeds with plain SQL (bench/purgekit.py's shops, then INSERT ... SELECT generate_series):
   two shops with their own customers and sales (bystanders), and one loyalty customer, with
   the same e-mail at both shops, with N sales (70% at the first shop), each with 2 lines and
   1 payment, the receipt e-mailed to her on every other sale. VACUUM ANALYZE.
2. Her access request through the services, as the tests make it: submitted, verified with the
   code from the outbox, assigned to an officer, approved.
3. In a fresh process (a subprocess running a small Django snippet): the process's RSS and
   ru_maxrss after django.setup() and the imports, then access_package_build(request_id=...),
   then ru_maxrss again: wall time, rows written (the parts' counts, every table of the data
   map), bytes of the ZIP, rows/s, peak memory: the process's max RSS (ru_maxrss, django.setup()
   included) and the build's own high-water (VmHWM reset just before it), and its growth over
   the RSS before. The target is read on the larger of the two.
4. The baseline, in another fresh process: COPY (SELECT ...) TO STDOUT (FORMAT csv) of her
   loyalty customers, sales, lines and payments (hand-written SQL), read through psycopg's copy
   into a null sink; its row counts must equal the package's for those four tables.
5. Prints a table, and the targets: peak memory < 150 MB at 100,000 sales (MET/MISSED), and
   the package's rows/s as a ratio of COPY's.

The COPY baseline names tables: it is a benchmark of hand-written SQL, not a second data map.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from bootstrap import ROOT, inside_services, reexec_inside_services  # noqa: E402

# With bench/ first on the path, `import requests` would import bench/requests.py: the shared
# helpers are imported as bench.* from the repository root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
MEMORY_TARGET_MB = 150  # peak memory of the build at TARGET_SALES sales
TARGET_SALES = 100_000
SHOP_SALES = 2000  # each shop's own sales (other people's)
BAR = "pelanggan.bench{n}@example.id"
SECRET_KEY = "bench-export-secret-key-not-for-production-0123456789abcdef"

# The baseline: her rows of the four tables, as the data map finds them (customer by e-mail,
# sales by customer or receipt e-mail, lines and payments by sale).
COPY_SQL = {
    "loyaltycustomer": "SELECT * FROM merchants_loyaltycustomer WHERE lower(email) = %(email)s ORDER BY id",
    "sale": """SELECT s.* FROM merchants_sale s WHERE s.customer_id IN (SELECT id FROM merchants_loyaltycustomer
               WHERE lower(email) = %(email)s) OR lower(s.receipt_email) = %(email)s ORDER BY s.id""",
    "saleline": """SELECT l.* FROM merchants_saleline l JOIN merchants_sale s ON s.id = l.sale_id
                   WHERE s.customer_id IN (SELECT id FROM merchants_loyaltycustomer WHERE lower(email) = %(email)s)
                   OR lower(s.receipt_email) = %(email)s ORDER BY l.id""",
    "payment": """SELECT p.* FROM merchants_payment p JOIN merchants_sale s ON s.id = p.sale_id
                  WHERE s.customer_id IN (SELECT id FROM merchants_loyaltycustomer WHERE lower(email) = %(email)s)
                  OR lower(s.receipt_email) = %(email)s ORDER BY p.id""",
}

# -- the fresh processes ----------------------------------------------------------------------

SETUP = r"""
import json, os, resource, sys, time
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
import django
django.setup()
"""

BUILD_SNIPPET = SETUP + r"""
from requests_portal import export, services
from requests_portal.services.export import package_path
from django.db import connection
connection.ensure_connection()
captured = []
original = export.package_parts
def package_parts(*args, **kwargs):
    parts = original(*args, **kwargs)
    captured.extend(parts)
    return parts
export.package_parts = package_parts
def hwm():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
before_rss, before_max = rss(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS: the build's own peak
    reset = True
except OSError:
    reset = False
t0 = time.perf_counter()
package = services.access_package_build(request_id=int(sys.argv[1]))
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
build_peak = hwm() if reset else peak
tables = {}
for p in captured:
    name = p.entry.model._meta.model_name
    tables[name] = tables.get(name, 0) + p.rows
path = package_path(package)
print(json.dumps({"seconds": seconds, "rows": sum(tables.values()), "tables": tables, "bytes": package.size,
                  "on_disk": path.stat().st_size, "files": 2 * len(captured), "before_rss": before_rss,
                  "before_max": before_max, "peak": peak, "build_peak": build_peak, "reset": reset, "path": str(path)}))
"""

COPY_SNIPPET = SETUP + r"""
from django.db import connection
queries = json.loads(sys.argv[2])
with connection.cursor() as cursor:
    raw = cursor.cursor
    out = {}
    t0 = time.perf_counter()
    total_bytes = 0
    for name, sql in queries.items():
        statement = "COPY (" + raw.mogrify(sql, {"email": sys.argv[1]}) + ") TO STDOUT (FORMAT csv, HEADER)"
        rows = -1  # the header
        with raw.copy(statement) as copy:
            for block in copy:
                total_bytes += len(block)
                rows += bytes(block).count(b"\n")
        out[name] = rows
    seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "tables": out, "rows": sum(out.values()), "bytes": total_bytes,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def fresh(snippet: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", snippet, *args], cwd=ROOT, env=os.environ, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"the measuring process failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- seeding ------------------------------------------------------------------------------------


def seed(cursor, n: int) -> tuple[str, list[int]]:
    """Two shops (purgekit's, with their own customers and sales) and her N sales at them."""
    from bench.purgekit import seed_merchants, size_for

    email = BAR.format(n=n)
    shops = seed_merchants(cursor, size_for("shop", SHOP_SALES, customers=100), [f"Warung Bench {n} A", f"Toko Bench {n} B"],
                           churned=False)
    first = (n * 7 + 9) // 10
    counts = [first, n - first]
    cursor.execute(
        """
        INSERT INTO merchants_loyaltycustomer (merchant_id, name, gender, birth_date, phone, phone_e164, email,
            loyalty_card_number, points, accepts_marketing, created_at)
        SELECT m, 'Siti Rahayu', 'F', '1990-05-17', '', '', %(email)s, 'LCB' || m, 120, true, '2025-01-01 08:00+07'
        FROM unnest(%(shops)s::bigint[]) m
        """,
        {"email": email, "shops": shops},
    )
    cursor.execute(
        """
        WITH her AS (SELECT c.merchant_id mid, c.id cid, x.cnt,
                            (SELECT min(id) FROM merchants_outlet o WHERE o.merchant_id = c.merchant_id) oid,
                            (SELECT min(id) FROM merchants_staffuser u WHERE u.merchant_id = c.merchant_id) uid
                     FROM merchants_loyaltycustomer c
                     JOIN unnest(%(shops)s::bigint[], %(counts)s::int[]) x(mid, cnt) ON x.mid = c.merchant_id
                     WHERE c.email = %(email)s)
        INSERT INTO merchants_sale (merchant_id, outlet_id, cashier_id, customer_id, receipt_number, receipt_email,
            receipt_phone, receipt_phone_e164, subtotal, tax, total, sold_at)
        SELECT her.mid, her.oid, her.uid, her.cid, 'BX' || lpad(g::text, 9, '0'),
               CASE WHEN mod(g, 2) = 0 THEN %(email)s END, NULL, NULL,
               5000 + mod(g, 500) * 1000, (5000 + mod(g, 500) * 1000) * 0.11, (5000 + mod(g, 500) * 1000) * 1.11,
               '2025-01-01 08:00+07'::timestamptz + g * interval '3 minutes'
        FROM her CROSS JOIN LATERAL generate_series(1, her.cnt) g
        ORDER BY her.mid, g
        """,
        {"email": email, "shops": shops, "counts": counts},
    )
    her_sales = """(SELECT s.* FROM merchants_sale s JOIN merchants_loyaltycustomer c ON c.id = s.customer_id
                    WHERE c.email = %(email)s)"""
    cursor.execute(
        f"""
        INSERT INTO merchants_saleline (merchant_id, sale_id, product_name, sku, quantity, unit_price, line_total)
        SELECT s.merchant_id, s.id, 'Produk ' || k, 'SKU-' || lpad(k::text, 5, '0'), k, 2500, 2500 * k
        FROM {her_sales} s CROSS JOIN generate_series(1, 2) k ORDER BY s.id, k
        """,
        {"email": email},
    )
    cursor.execute(
        f"""
        INSERT INTO merchants_payment (merchant_id, sale_id, method, bank_name, card_masked, reference, amount, paid_at)
        SELECT s.merchant_id, s.id, (ARRAY['cash', 'debit', 'credit', 'qris'])[1 + mod(s.id, 4)::int],
               CASE WHEN mod(s.id, 4) IN (1, 2) THEN 'BCA' END,
               CASE WHEN mod(s.id, 4) IN (1, 2) THEN '4111 11** **** ' || lpad(mod(s.id, 9973)::text, 4, '0') END,
               CASE WHEN mod(s.id, 4) <> 0 THEN 'REF' || lpad(s.id::text, 12, '0') END, s.total, s.sold_at
        FROM {her_sales} s ORDER BY s.id
        """,
        {"email": email},
    )
    return email, shops


def approved_request(email: str, n: int, officer) -> int:
    """Her access request through the services: submitted, verified, assigned, approved."""
    import re

    from messaging.models import OutboundMessage
    from requests_portal import services
    from requests_portal.models import RequestMessage

    request, _created = services.request_submit(
        right="access", subject_role="customer", requester_name="Siti Rahayu", email=email, phone="",
        shop_name=f"Warung Bench {n} A", language="id", submission_key=f"bench-export-{n}-{time.time_ns()}",
    )
    for code in request.codes.all():
        message = OutboundMessage.objects.filter(
            pk__in=RequestMessage.objects.filter(request=request).values("message_id"), kind="request_code",
            channel=code.via,
        ).order_by("-pk").first()
        value = re.search(r"(?<![\w-])(\d{6})(?![\w-])", message.body).group(1)
        services.request_verify(request_id=request.pk, via=code.via, code=value)
    services.request_assign(request_id=request.pk, actor=officer, assignee=officer)
    services.request_approve(request_id=request.pk, actor=officer)
    return request.pk


def make_officer():
    from django.contrib.auth.models import Group, User

    user, _ = User.objects.get_or_create(username="bench-export-officer",
                                         defaults={"email": "officer@junopos.test", "is_staff": True})
    user.groups.add(Group.objects.get(name="Compliance officer"))
    return User.objects.get(pk=user.pk)  # permissions read afresh


# -- the run --------------------------------------------------------------------------------------


def main_bench(args) -> int:
    from django.db import connection

    officer = make_officer()
    results = []
    for n in args.sizes:
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            email, _shops = seed(cursor, n)
        connection.cursor().execute("VACUUM ANALYZE")
        request_id = approved_request(email, n, officer)
        seeded_s = time.perf_counter() - t0
        copy = fresh(COPY_SNIPPET, email, json.dumps(COPY_SQL))
        build = fresh(BUILD_SNIPPET, str(request_id))
        Path(build["path"]).unlink(missing_ok=True)
        for table, rows in copy["tables"].items():
            if build["tables"].get(table) != rows:
                raise SystemExit(f"{n} sales: the package wrote {build['tables'].get(table)} rows of {table}, "
                                 f"COPY {rows}")
        if copy["tables"]["sale"] != n:
            raise SystemExit(f"{n} sales seeded, {copy['tables']['sale']} found")
        print(f"   {n:,} sales: seeded and approved in {seeded_s:.1f}s; package {build['seconds']:.2f}s, "
              f"COPY {copy['seconds']:.2f}s", flush=True)
        results.append((n, build, copy))
    return report(args, results)


def report(args, results) -> int:
    print()
    print(f"== The access package against COPY of the same rows ({os.cpu_count()} cores; one fresh process each)")
    print("   sales     rows    files  ZIP MB   build s   rows/s   RSS before  max RSS    build HWM  growth "
          "| COPY rows  COPY s   COPY rows/s  ratio")
    peak_at_target = None
    for n, b, c in results:
        rate = b["rows"] / b["seconds"]
        four = sum(c["tables"].values())
        four_rate_pkg = four / b["seconds"]
        copy_rate = c["rows"] / c["seconds"]
        growth = b["build_peak"] - b["before_rss"]
        print(f"   {n:>7,} {b['rows']:>8,} {b['files']:>6} {b['bytes'] / MB:7.1f} {b['seconds']:9.2f} {rate:8,.0f} "
              f"{b['before_rss'] / MB:8.1f} MB {b['peak'] / MB:6.1f} MB {b['build_peak'] / MB:6.1f} MB {growth / MB:6.1f} MB "
              f"| {c['rows']:>8,} {c['seconds']:7.3f} {copy_rate:12,.0f}  {four_rate_pkg / copy_rate:.3f} x")
        if n == TARGET_SALES:
            peak_at_target = max(b["peak"], b["build_peak"])
    print("   RSS before: the process's RSS after django.setup() and the imports, just before the build (its max RSS")
    maxima = ", ".join(f"{b['before_max'] / MB:.1f}" for _n, b, _c in results)
    print(f"   then: {maxima} MB); max RSS: ru_maxrss of the whole process after the build (django.setup()")
    print("   included); build HWM: VmHWM reset just before the build (the build's own peak); growth: build HWM -")
    print("   RSS before." + ("" if all(b["reset"] for _n, b, _c in results) else " (VmHWM could not be reset: max RSS)"))
    print("   rows: every row the package wrote, once for its JSON and CSV (all tables of the data map: customer, sales, lines, payments,")
    print("   the request and its events, messages...); COPY: her customers, sales, lines and payments, whose")
    print("   counts equal the package's; ratio: the package's rows/s on those four tables over COPY's.")
    print()
    met = True
    if peak_at_target is None:
        print(f"   target: peak memory < {MEMORY_TARGET_MB} MB at {TARGET_SALES:,} sales: not measured (add the size)")
    else:
        met = peak_at_target / MB < MEMORY_TARGET_MB
        print(f"   target: peak memory < {MEMORY_TARGET_MB} MB at {TARGET_SALES:,} sales: {'MET' if met else 'MISSED'} "
              f"({peak_at_target / MB:.1f} MB, the process's max RSS)")
    for n, b, c in results:
        four = sum(c["tables"].values())
        print(f"   throughput at {n:,} sales: {four / b['seconds']:,.0f} rows/s against COPY's "
              f"{c['rows'] / c['seconds']:,.0f} ({(four / b['seconds']) / (c['rows'] / c['seconds']):.3f} x)")
    return 1 if args.strict and not met else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the access package against COPY (see the docstring).")
    parser.add_argument("--sizes", default="1000,10000,100000", help="her sales, per size (default 1000,10000,100000)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes: numbers separated by commas")
    if not args.sizes or min(args.sizes) < 2 or len(set(args.sizes)) != len(args.sizes):
        parser.error("--sizes: distinct numbers of at least 2")

    if not inside_services():
        reexec_inside_services("bench/export.py", argv)  # does not return
    private = tempfile.mkdtemp(prefix="bench-export-")
    os.environ["PRIVATE_MEDIA_DIR"] = private
    os.environ["SECRET_KEY"] = SECRET_KEY
    os.environ["DJANGO_SETTINGS_MODULE"] = "junoprivacy.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench/export.py runs on PostgreSQL: start it as `python3 bench/export.py`")
    try:
        return main_bench(args)
    finally:
        shutil.rmtree(private, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
