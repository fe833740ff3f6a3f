#!/usr/bin/env python3
"""Benchmark of `manage.py seed_demo` at one million sales, against a raw-SQL baseline.

    python3 bench/seed.py                                  # 100 merchants x 10,000 sales (~3 minutes)
    python3 bench/seed.py --merchants 10 --sales-per-merchant 10000   # a quick look
    python3 bench/seed.py --strict                         # exit 1 when over the time target

Run from anywhere, it sets up .venv as scripts/test does, starts the throwaway PostgreSQL and
Redis of scripts/services.sh, migrates, runs the benchmark in the venv and stops the servers.
Nothing here is part of the test suite.

What it does, on that PostgreSQL:
1. Runs `manage.py seed_demo --merchants N --sales-per-merchant S` as its own process, as a
   person would, showing its progress, and times it from start to exit (Django's start-up,
   merchants, staff and customers through the services and the bulk writer, the COPY of
   sales, lines, payments and sessions, the demo users).
2. Counts what it wrote, empties the merchants tables (TRUNCATE ... RESTART IDENTITY), and
   loads the same number of device sessions, sales (same foreign keys filled: merchant,
   outlet, cashier, a customer on three sales in ten, a digital receipt on some), lines and
   payments with `INSERT ... SELECT ... FROM generate_series(...)`, one transaction per table
   with its foreign keys checked at commit: the fastest this PostgreSQL can take those rows
   into those tables with those indexes and constraints, with no client at all. Parents
   (merchants, outlets, staff, customers) are made first and not timed; nor is the ANALYZE
   after each table (autovacuum's work, which seed_demo gets beside it while it runs).
3. Prints, for both, seconds and rows per second (rows = sessions + sales + lines + payments),
   the ratio seed_demo / baseline (for the whole command and for its bulk phase, as the
   command reports it), and the target: one million sales in under three minutes.

The ratio is the figure to compare across machines: both sides run on the same server in the
same run. The servers run with fsync off (scripts/services.sh), as a throwaway test server
does; both sides get the same.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, inside_services, reexec_inside_services  # noqa: E402

TARGET_SECONDS = 180  # one million sales with their lines and payments, on two cores

BULK_TABLES = ("merchants_devicesession", "merchants_sale", "merchants_saleline", "merchants_payment")


def counts(cursor) -> dict[str, int]:
    found = {}
    for table in ("merchants_merchant", "merchants_loyaltycustomer", *BULK_TABLES):
        cursor.execute(f"SELECT count(*) FROM {table}")
        found[table] = cursor.fetchone()[0]
    return found


def run_seed_demo(args) -> tuple[float, float | None]:
    """seed_demo in its own process; returns its wall time and the bulk time it reports."""
    command = [
        sys.executable, str(ROOT / "manage.py"), "seed_demo",
        "--merchants", str(args.merchants), "--sales-per-merchant", str(args.sales_per_merchant),
        "--seed", str(args.seed),
    ]
    print(f"$ {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    bulk_seconds = None
    for line in process.stdout:
        # Progress and the summary; the long closing lists (people, logins) are cut short.
        if line.startswith("    ") and not line.startswith("    -"):
            continue
        print(f"  | {line.rstrip()}", flush=True)
        match = re.search(r"bulk load [\d,]+ rows in ([\d.]+) s", line)
        if match:
            bulk_seconds = float(match.group(1))
    status = process.wait()
    elapsed = time.perf_counter() - started
    if status:
        raise SystemExit(f"seed_demo failed with status {status}")
    return elapsed, bulk_seconds


def baseline(cursor, connection, *, merchants: int, sales: int, lines: int, payments: int, sessions: int,
             customers_per_merchant: int) -> dict[str, float]:
    """The same rows, made by PostgreSQL itself: INSERT ... SELECT generate_series."""
    per_merchant = max(1, sales // merchants)
    c = max(1, customers_per_merchant)
    cursor.execute("TRUNCATE " + ", ".join([
        "merchants_merchant", "merchants_outlet", "merchants_staffuser", "merchants_bankaccount",
        "merchants_loyaltycustomer", *BULK_TABLES,
    ]) + " RESTART IDENTITY CASCADE")
    # Parents, not timed: merchant m has outlet m and staff user m, and customers
    # (m - 1) * c + 1 ... m * c.
    cursor.execute(
        """INSERT INTO merchants_merchant (business_name, business_type, tax_number, owner_name, owner_gender,
               owner_id_number, owner_email, owner_phone, owner_phone_e164, office_address, billing_address, plan,
               subscription_started_at, preferred_language, country_of_origin, created_at)
           SELECT 'Toko Uji ' || g, 'Kedai kopi', '', 'Pemilik ' || g, 'F', '', 'pemilik' || g || '@contoh.co.id',
               '0812' || lpad(g::text, 8, '0'), '+62812' || lpad(g::text, 8, '0'), '', '', 'basic',
               now() - interval '3 years', 'id', 'ID', now()
           FROM generate_series(1, %(m)s) g""",
        {"m": merchants},
    )
    cursor.execute(
        """INSERT INTO merchants_outlet (merchant_id, name, address, city, latitude, longitude, created_at)
           SELECT g, 'Outlet ' || g, '', 'Bekasi', -6.238270, 106.975571, now() FROM generate_series(1, %(m)s) g""",
        {"m": merchants},
    )
    cursor.execute(
        """INSERT INTO merchants_staffuser (merchant_id, outlet_id, name, username, password_hash, email, phone,
               phone_e164, job_title, authorisation_level, is_active, created_at)
           SELECT g, g, 'Kasir ' || g, 'kasir' || g, '', '', '', NULL, 'Kasir', 'cashier', true, now()
           FROM generate_series(1, %(m)s) g""",
        {"m": merchants},
    )
    cursor.execute(
        """INSERT INTO merchants_loyaltycustomer (merchant_id, name, gender, phone, phone_e164, email,
               loyalty_card_number, points, accepts_marketing, created_at)
           SELECT 1 + (g - 1) / %(c)s, 'Pelanggan ' || g, 'F', '0857' || lpad(g::text, 8, '0'),
               '+62857' || lpad(g::text, 8, '0'), '', 'LC' || g, 0, false, now()
           FROM generate_series(1::bigint, %(n)s) g""",
        {"c": c, "n": merchants * c},
    )
    # Statistics, as autovacuum would have them by now (seed_demo runs ANALYZE after its first
    # chunk, and autovacuum runs beside it): without them PostgreSQL may plan the foreign-key
    # check `merchants_sale.id = $1` on the (merchant_id, id) index, a full index scan per line.
    for table in ("merchants_merchant", "merchants_outlet", "merchants_staffuser", "merchants_loyaltycustomer",
                  *BULK_TABLES):
        cursor.execute(f"ANALYZE {table}")
    connection.commit()
    cursor.execute("CHECKPOINT")
    statements = {
        "merchants_devicesession": (
            """INSERT INTO merchants_devicesession (merchant_id, staff_id, device_id, ip_address, user_agent,
                   app_version, os_name, latitude, longitude, started_at)
               SELECT m, m, md5(g::text), ('36.68.' || (g %% 256) || '.' || (1 + g %% 254))::inet,
                   'JUNOPOS/5.1.0 (Android 13; Sunmi V2s)', '5.1.0', 'Android 13', -6.238270, 106.975571,
                   now() - (g %% 63072000) * interval '1 second'
               FROM (SELECT g, 1 + (g - 1) %% %(m)s AS m FROM generate_series(1::bigint, %(n)s) g) x""",
            {"m": merchants, "n": sessions},
        ),
        "merchants_sale": (
            """INSERT INTO merchants_sale (id, merchant_id, outlet_id, cashier_id, customer_id, receipt_number,
                   receipt_email, receipt_phone, receipt_phone_e164, subtotal, tax, total, sold_at)
               OVERRIDING SYSTEM VALUE
               SELECT g, m, m, m, CASE WHEN g %% 10 < 3 THEN (m - 1) * %(c)s + 1 + g %% %(c)s END,
                   'INV/' || to_char(ts, 'YYYYMMDD') || '/O1/' || lpad(g::text, 7, '0'),
                   CASE WHEN g %% 20 = 0 THEN 'pelanggan' || (g %% 5000) || '@gmail.com' END,
                   CASE WHEN g %% 20 = 1 THEN '0812' || lpad((g %% 100000000)::text, 8, '0') END,
                   CASE WHEN g %% 20 = 1 THEN '+62812' || lpad((g %% 100000000)::text, 8, '0') END,
                   45000 + g %% 100 * 1000, 4950 + g %% 100 * 110, 49950 + g %% 100 * 1110, ts
               FROM (SELECT g, 1 + (g - 1) / %(s)s AS m, now() - (g %% 63072000) * interval '1 second' AS ts
                     FROM generate_series(1::bigint, %(n)s) g) x""",
            {"c": c, "s": per_merchant, "n": sales},
        ),
        "merchants_saleline": (
            """INSERT INTO merchants_saleline (merchant_id, sale_id, product_name, sku, quantity, unit_price,
                   line_total)
               SELECT 1 + (sale_id - 1) / %(s)s, sale_id, 'Kopi susu gula aren', 'KOP-001', 1 + g %% 3, 22000,
                   22000 * (1 + g %% 3)
               FROM (SELECT g, 1 + ((g - 1) * %(sales)s) / %(n)s AS sale_id
                     FROM generate_series(1::bigint, %(n)s) g) x""",
            {"s": per_merchant, "sales": sales, "n": lines},
        ),
        "merchants_payment": (
            """INSERT INTO merchants_payment (merchant_id, sale_id, method, bank_name, card_masked, reference,
                   amount, paid_at)
               SELECT 1 + (g - 1) / %(s)s, g, CASE WHEN g %% 3 = 0 THEN 'cash' ELSE 'qris' END,
                   CASE WHEN g %% 3 = 0 THEN NULL ELSE 'GoPay' END, CASE WHEN g %% 7 = 0 THEN '4556 12** **** 7781' END,
                   CASE WHEN g %% 3 = 0 THEN NULL ELSE lpad(g::text, 12, '0') END, 49950,
                   now() - (g %% 63072000) * interval '1 second'
               FROM generate_series(1::bigint, %(n)s) g""",
            {"s": per_merchant, "n": payments},
        ),
    }
    seconds = {}
    for table, (sql, params) in statements.items():
        started = time.perf_counter()
        cursor.execute(sql, params)
        connection.commit()  # foreign keys are DEFERRABLE INITIALLY DEFERRED: checked here
        seconds[table] = time.perf_counter() - started
        print(f"  baseline {table}: {cursor.rowcount:,} rows in {seconds[table]:.1f} s", flush=True)
        cursor.execute(f"ANALYZE {table}")  # not timed: autovacuum's work in a real run
        connection.commit()
    return seconds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Benchmark seed_demo against a raw-SQL baseline (see the docstring).")
    parser.add_argument("--merchants", type=int, default=100, help="merchants (default 100)")
    parser.add_argument("--sales-per-merchant", type=int, default=10_000, help="sales per merchant (default 10000)")
    parser.add_argument("--seed", type=int, default=2026, help="seed_demo's --seed (default 2026)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when seed_demo misses the time target")
    args = parser.parse_args(argv)

    if not inside_services():
        reexec_inside_services("bench/seed.py", argv)  # does not return
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "junoprivacy.settings")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench/seed.py runs on PostgreSQL: start it as `python3 bench/seed.py`")
    load = os.getloadavg()
    print(f"== bench/seed.py on {connection.settings_dict['NAME']} (PostgreSQL {connection.pg_version}), "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM merchants_merchant")
        if cursor.fetchone()[0]:
            raise SystemExit("the database already has merchants: bench/seed.py needs an empty one")
        cursor.execute("CHECKPOINT")
    connection.commit()

    # 1. seed_demo ------------------------------------------------------------------------------
    seed_seconds, bulk_seconds = run_seed_demo(args)
    with connection.cursor() as cursor:
        found = counts(cursor)
    bulk_rows = sum(found[t] for t in BULK_TABLES)

    # 2. baseline -------------------------------------------------------------------------------
    customers_per_merchant = found["merchants_loyaltycustomer"] // max(1, found["merchants_merchant"])
    connection.set_autocommit(False)
    with connection.cursor() as cursor:
        base = baseline(
            cursor, connection, merchants=args.merchants, sales=found["merchants_sale"],
            lines=found["merchants_saleline"], payments=found["merchants_payment"],
            sessions=found["merchants_devicesession"], customers_per_merchant=customers_per_merchant,
        )
        base_found = counts(cursor)
    connection.commit()
    connection.set_autocommit(True)
    base_seconds = sum(base.values())
    for table in BULK_TABLES:
        if base_found[table] != found[table]:
            raise SystemExit(f"baseline wrote {base_found[table]:,} rows into {table}, seed_demo {found[table]:,}")

    # 3. report ---------------------------------------------------------------------------------
    print()
    print(f"rows (sessions + sales + lines + payments): {bulk_rows:,} "
          f"({found['merchants_sale']:,} sales, {found['merchants_saleline']:,} lines, "
          f"{found['merchants_payment']:,} payments, {found['merchants_devicesession']:,} sessions; "
          f"seed_demo also wrote {found['merchants_merchant']:,} merchants, "
          f"{found['merchants_loyaltycustomer']:,} customers with their history, outlets, staff)")
    width = 34
    print(f"{'':{width}} {'seconds':>9} {'rows/s':>10} {'x baseline':>11}")
    print(f"{'raw SQL baseline (generate_series)':{width}} {base_seconds:9.1f} {bulk_rows / base_seconds:10,.0f} "
          f"{1:11.2f}")
    print(f"{'seed_demo, whole command':{width}} {seed_seconds:9.1f} {bulk_rows / seed_seconds:10,.0f} "
          f"{seed_seconds / base_seconds:11.2f}")
    if bulk_seconds:
        print(f"{'seed_demo, bulk phase':{width}} {bulk_seconds:9.1f} {bulk_rows / bulk_seconds:10,.0f} "
              f"{bulk_seconds / base_seconds:11.2f}")
    million = found["merchants_sale"] >= 1_000_000
    met = seed_seconds < TARGET_SECONDS
    if million:
        print(f"target: one million sales in under {TARGET_SECONDS} s: {'met' if met else 'MISSED'} "
              f"({seed_seconds:.1f} s)")
    else:
        print(f"target: applies to one million sales (this run: {found['merchants_sale']:,})")
    return 1 if (args.strict and million and not met) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
