#!/usr/bin/env python3
"""Benchmark of the merchant purge: the erasure engine against a raw-SQL baseline and the ORM.

    python3 bench/purge.py                  # the whole benchmark, one command (2 to 4 minutes)
    python3 bench/purge.py --small 2000 --large 20000 --planner-merchants 10000   # a quick look
    ERASURE_BATCH_SIZE=5000 python3 bench/purge.py   # the engine with another batch size

Run from anywhere, it sets up .venv as scripts/test does, starts the throwaway PostgreSQL and
Redis of scripts/services.sh, migrates, runs the benchmark in the venv and stops the servers.
Nothing here is part of the test suite.

What it does, on that PostgreSQL:
1. Seeds, with INSERT ... SELECT generate_series (no ORM rows), identical copies (one per
   contender and run) of a small and of a large merchant (sales with 2-3 lines and one payment
   each, loyalty customers, staff, device sessions, outlets, a bank account, simple-history rows
   for merchant, outlet, staff, customer and bank account), plus one bystander merchant that
   nobody purges.
2. Purges each copy with one contender, each in a fresh process (`--purge-only CONTENDER ID`,
   so that none profits from another's warm connection) after VACUUM ANALYZE and CHECKPOINT:
   - engine:   retention.engine.Erasure(Scope.merchant(id)).run() with the batch size of
               settings.ERASURE_BATCH_SIZE; its process reports its peak memory too;
   - raw SQL:  the same deletes and updates as a few set-based statements in one transaction;
   - ORM:      what a Django team writes first: the cascade collector's delete() on customers,
               sessions, staff and bank accounts, QuerySet.update() on what is kept.
   The small merchant is purged three times per contender (`--small-runs`) and the median
   kept: one purge takes well under a second and a shared machine is noisy.
   After each it checks the end state (nothing personal left, every sale, line and payment
   kept, engine and raw SQL leaving exactly the same rows) and that the bystander's checksum
   did not change; any difference stops the benchmark with an error.
3. Prints rows changed (the engine's counts), seconds and rows per second for the three, the
   engine's ratios, its peak memory at both sizes, and the daily planner's cost at 100,000
   merchants (schedules_due evaluated, and EXPLAIN ANALYZE of its query).
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
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import ROOT, inside_services, reexec_inside_services  # noqa: E402


MB = 1024 * 1024
THROUGHPUT_TARGET = 0.5  # engine rows/s at least half the raw-SQL baseline's
MEMORY_TARGET_MB = 20  # peak memory may grow at most this much from small to large


# -- the one command: venv, servers, migrations, then this file again inside them ------------

# -- sizes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    name: str
    sales: int
    customers: int
    staff: int
    outlets: int
    sessions: int


def sizes_from(args) -> list[Size]:
    def size(name: str, sales: int) -> Size:
        big = sales >= 100_000
        return Size(
            name=name,
            sales=sales,
            customers=600 if big else 300,
            staff=40 if big else 8,
            outlets=10 if big else 2,
            sessions=max(10, sales // 20),
        )

    return [size("small", args.small), size("large", args.large)]


# -- seeding: set-based SQL only -------------------------------------------------------------

SEED_TIME = "2025-01-01 08:00:00+07"


def seed_merchant(cursor, size: Size, *, business_name: str) -> int:
    """One merchant with all its rows; copies seeded with the same arguments are identical."""
    p = {"name": business_name, "t0": SEED_TIME}
    cursor.execute(
        """
        INSERT INTO merchants_merchant (business_name, business_type, tax_number, owner_name, owner_gender,
            owner_birth_date, owner_id_number, owner_email, owner_phone, owner_phone_e164, office_address,
            billing_address, plan, subscription_started_at, churned_at, preferred_language, country_of_origin,
            created_at)
        VALUES (%(name)s, 'Ritel', '01.234.567.8-901.000', 'Budi Santoso', 'M', '1980-04-17', '3171021704800001',
            'budi.santoso@example.id', '0812-3456-7890', '+6281234567890', 'Jl. Jenderal Sudirman No. 1, Jakarta',
            'Jl. Jenderal Sudirman No. 1, Jakarta', 'pro', %(t0)s, %(t0)s::timestamptz + interval '300 days',
            'id', 'ID', %(t0)s)
        RETURNING id
        """,
        p,
    )
    p["mid"] = cursor.fetchone()[0]
    p.update(
        outlets=size.outlets, staff=size.staff, customers=size.customers, sales=size.sales, sessions=size.sessions
    )
    statements = [
        # Outlets.
        """
        INSERT INTO merchants_outlet (merchant_id, name, address, city, latitude, longitude, created_at)
        SELECT %(mid)s, 'Outlet ' || g, 'Jl. Melati No. ' || g || ', Jakarta Selatan', 'Jakarta',
               -6.2 - g / 1000.0, 106.8 + g / 1000.0, %(t0)s
        FROM generate_series(1, %(outlets)s) g
        """,
        # Staff, each at an outlet.
        """
        WITH o AS (SELECT array_agg(id ORDER BY id) a FROM merchants_outlet WHERE merchant_id = %(mid)s)
        INSERT INTO merchants_staffuser (merchant_id, outlet_id, name, username, password_hash, email, phone,
            phone_e164, job_title, authorisation_level, is_active, created_at)
        SELECT %(mid)s, o.a[1 + mod(g, cardinality(o.a))], 'Kasir ' || g, 'kasir' || g,
               'pbkdf2_sha256$600000$' || md5(g::text), 'kasir' || g || '@example.id',
               '0857-' || lpad(g::text, 8, '0'), '+62857' || lpad(g::text, 8, '0'),
               CASE WHEN g = 1 THEN 'Pemilik' ELSE 'Kasir' END,
               CASE WHEN g = 1 THEN 'owner' ELSE 'cashier' END, true, %(t0)s
        FROM o, generate_series(1, %(staff)s) g
        """,
        # Loyalty customers.
        """
        INSERT INTO merchants_loyaltycustomer (merchant_id, name, gender, birth_date, phone, phone_e164, email,
            loyalty_card_number, points, accepts_marketing, created_at)
        SELECT %(mid)s, 'Pelanggan ' || g, CASE WHEN mod(g, 2) = 0 THEN 'F' ELSE 'M' END,
               date '1970-01-01' + g * 30, '0813-' || lpad(g::text, 8, '0'), '+62813' || lpad(g::text, 8, '0'),
               'pelanggan' || g || '@example.id', 'LC' || lpad(g::text, 10, '0'), mod(g * 37, 1000),
               mod(g, 3) = 0, %(t0)s
        FROM generate_series(1, %(customers)s) g
        """,
        # The bank account.
        """
        INSERT INTO merchants_bankaccount (merchant_id, bank_name, account_number, account_holder, created_at)
        VALUES (%(mid)s, 'BCA', '1234567890', 'Budi Santoso', %(t0)s)
        """,
        # Sales: every one has a cashier, 40% a loyalty customer, 30% a receipt e-mail, 10% a phone.
        """
        WITH o AS (SELECT array_agg(id ORDER BY id) a FROM merchants_outlet WHERE merchant_id = %(mid)s),
             s AS (SELECT array_agg(id ORDER BY id) a FROM merchants_staffuser WHERE merchant_id = %(mid)s),
             c AS (SELECT array_agg(id ORDER BY id) a FROM merchants_loyaltycustomer WHERE merchant_id = %(mid)s)
        INSERT INTO merchants_sale (merchant_id, outlet_id, cashier_id, customer_id, receipt_number, receipt_email,
            receipt_phone, receipt_phone_e164, subtotal, tax, total, sold_at)
        SELECT %(mid)s, o.a[1 + mod(g, cardinality(o.a))], s.a[1 + mod(g, cardinality(s.a))],
               CASE WHEN mod(g, 5) < 2 THEN c.a[1 + mod(g, cardinality(c.a))] END,
               'R' || lpad(g::text, 9, '0'),
               CASE WHEN mod(g, 10) < 3 THEN 'pembeli' || mod(g, 997) || '@example.id' END,
               CASE WHEN mod(g, 10) = 5 THEN '0878-' || lpad(mod(g, 99991)::text, 8, '0') END,
               CASE WHEN mod(g, 10) = 5 THEN '+62878' || lpad(mod(g, 99991)::text, 8, '0') END,
               5000 + mod(g, 500) * 1000, (5000 + mod(g, 500) * 1000) * 0.11,
               (5000 + mod(g, 500) * 1000) * 1.11, %(t0)s::timestamptz + g * interval '2 minutes'
        FROM o, s, c, generate_series(1, %(sales)s) g
        """,
        # Two or three lines per sale (the receipt number's parity decides).
        """
        INSERT INTO merchants_saleline (merchant_id, sale_id, product_name, sku, quantity, unit_price, line_total)
        SELECT s.merchant_id, s.id, 'Produk ' || k, 'SKU-' || lpad(k::text, 5, '0'), k, 2500, 2500 * k
        FROM merchants_sale s
        CROSS JOIN LATERAL generate_series(1, 2 + mod(right(s.receipt_number, 1)::int, 2)) k
        WHERE s.merchant_id = %(mid)s
        """,
        # One payment per sale: cash (nothing personal), debit/credit card, QRIS (a reference).
        """
        INSERT INTO merchants_payment (merchant_id, sale_id, method, bank_name, card_masked, reference, amount, paid_at)
        SELECT s.merchant_id, s.id, (ARRAY['cash', 'debit', 'credit', 'qris'])[1 + mod(n, 4)],
               CASE WHEN mod(n, 4) IN (1, 2) THEN 'BCA' END,
               CASE WHEN mod(n, 4) IN (1, 2) THEN '4111 11** **** ' || lpad(mod(n, 9973)::text, 4, '0') END,
               CASE WHEN mod(n, 4) <> 0 THEN 'REF' || lpad(n::text, 12, '0') END,
               s.total, s.sold_at
        FROM (SELECT *, right(receipt_number, 9)::int n FROM merchants_sale WHERE merchant_id = %(mid)s) s
        """,
        # Device sessions of the staff.
        """
        WITH s AS (SELECT array_agg(id ORDER BY id) a FROM merchants_staffuser WHERE merchant_id = %(mid)s)
        INSERT INTO merchants_devicesession (merchant_id, staff_id, device_id, ip_address, user_agent, app_version,
            os_name, latitude, longitude, started_at)
        SELECT %(mid)s, s.a[1 + mod(g, cardinality(s.a))], 'dev-' || mod(g, 50),
               ('10.' || mod(g, 250) || '.' || mod(g / 250, 250) || '.1')::inet,
               'JUNOPOS/5.2 (Android 13; SM-A145F)', '5.2.' || mod(g, 9), 'Android', -6.2, 106.8,
               %(t0)s::timestamptz + g * interval '1 hour'
        FROM s, generate_series(1, %(sessions)s) g
        """,
    ]
    for sql in statements:
        cursor.execute(sql, p)
    # simple-history: a '+' row per record and some '~' rows with older values.
    history = [
        # (model, copies per row: a number or SQL over the row, older values of the '~' copies)
        ("merchant", 3, {"owner_phone": "'0811-1111-2222'", "owner_phone_e164": "'+6281111112222'"}),
        ("outlet", 2, {"address": "'Jl. Mawar No. 9, Jakarta Barat'"}),
        ("staffuser", 2, {"phone": "'0856-0000-0000'", "phone_e164": "'+6285600000000'"}),
        (
            "loyaltycustomer",
            "1 + mod(right(t.loyalty_card_number, 1)::int, 2)",
            {"email": "'lama' || t.loyalty_card_number || '@example.id'"},
        ),
        ("bankaccount", 2, {"account_number": "'0987654321'"}),
    ]
    for model, copies, older in history:
        table = f"merchants_{model}"
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            [table],
        )
        columns = [c for (c,) in cursor.fetchall()]
        values = [f"CASE WHEN k > 0 THEN {older[c]} ELSE t.{c} END" if c in older else f"t.{c}" for c in columns]
        where = "t.id = %(mid)s" if model == "merchant" else "t.merchant_id = %(mid)s"
        cursor.execute(
            f"""
            INSERT INTO merchants_historical{model} ({", ".join(columns)}, history_date, history_type,
                history_change_reason, history_user_id)
            SELECT {", ".join(values)}, t.created_at + (2 - k) * interval '1 day',
                   CASE WHEN k = ({copies}) - 1 THEN '+' ELSE '~' END, NULL, NULL
            FROM {table} t CROSS JOIN LATERAL generate_series(0, ({copies}) - 1) k
            WHERE {where}
            """,
            p,
        )
    return p["mid"]


# -- checks ----------------------------------------------------------------------------------

# Tables and how they belong to a merchant; used for the bystander's checksum only.
CHECKSUM_TABLES = [
    ("merchants_merchant", "id", "id"),
    ("merchants_historicalmerchant", "id", "history_id"),
    ("merchants_outlet", "merchant_id", "id"),
    ("merchants_historicaloutlet", "merchant_id", "history_id"),
    ("merchants_staffuser", "merchant_id", "id"),
    ("merchants_historicalstaffuser", "merchant_id", "history_id"),
    ("merchants_loyaltycustomer", "merchant_id", "id"),
    ("merchants_historicalloyaltycustomer", "merchant_id", "history_id"),
    ("merchants_bankaccount", "merchant_id", "id"),
    ("merchants_historicalbankaccount", "merchant_id", "history_id"),
    ("merchants_sale", "merchant_id", "id"),
    ("merchants_saleline", "merchant_id", "id"),
    ("merchants_payment", "merchant_id", "id"),
    ("merchants_devicesession", "merchant_id", "id"),
]


def checksum(cursor, merchant_id: int) -> str:
    """md5 of every row of the merchant in every table, history included, in key order."""
    parts = []
    for table, column, key in CHECKSUM_TABLES:
        cursor.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.{key}), '')) "
            f"FROM {table} t WHERE t.{column} = %s",
            [merchant_id],
        )
        n, digest = cursor.fetchone()
        parts.append(f"{table}:{n}:{digest}")
    import hashlib

    return hashlib.md5("\n".join(parts).encode()).hexdigest()


def end_state(cursor, merchant_id: int) -> dict:
    """What is left of a purged merchant, in terms that do not depend on ids (copies compare equal)."""
    state = {}
    p = [merchant_id]

    def one(sql, params=p):
        cursor.execute(sql, params)
        return cursor.fetchone()

    for table in ("loyaltycustomer", "staffuser", "bankaccount", "devicesession"):
        state[f"{table} rows"] = one(f"SELECT count(*) FROM merchants_{table} WHERE merchant_id = %s")[0]
    state["sales"] = one(
        """SELECT count(*), count(*) FILTER (WHERE customer_id IS NOT NULL OR cashier_id IS NOT NULL
               OR receipt_email IS NOT NULL OR receipt_phone IS NOT NULL OR receipt_phone_e164 IS NOT NULL),
               md5(string_agg(concat_ws('|', receipt_number, subtotal, tax, total, sold_at), ',' ORDER BY receipt_number))
           FROM merchants_sale WHERE merchant_id = %s"""
    )
    state["lines"] = one(
        """SELECT count(*), sum(l.line_total),
               md5(string_agg(concat_ws('|', s.receipt_number, l.product_name, l.sku, l.quantity, l.line_total), ','
                   ORDER BY s.receipt_number, l.product_name))
           FROM merchants_saleline l JOIN merchants_sale s ON s.id = l.sale_id WHERE l.merchant_id = %s"""
    )
    state["payments"] = one(
        """SELECT count(*), count(*) FILTER (WHERE bank_name IS NOT NULL OR card_masked IS NOT NULL
               OR reference IS NOT NULL),
               md5(string_agg(concat_ws('|', s.receipt_number, y.method, y.amount, y.paid_at), ','
                   ORDER BY s.receipt_number))
           FROM merchants_payment y JOIN merchants_sale s ON s.id = y.sale_id WHERE y.merchant_id = %s"""
    )
    state["outlets"] = one(
        """SELECT count(*), count(*) FILTER (WHERE address <> '' OR latitude IS NOT NULL OR longitude IS NOT NULL),
               md5(string_agg(concat_ws('|', name, address, city, latitude, longitude), ',' ORDER BY name))
           FROM merchants_outlet WHERE merchant_id = %s"""
    )
    state["merchant"] = one(
        """SELECT business_name, tax_number, owner_name, owner_gender, owner_birth_date, owner_id_number,
               owner_email, owner_phone, owner_phone_e164, office_address, billing_address, preferred_language
           FROM merchants_merchant WHERE id = %s"""
    )
    state["history"] = history_state(cursor, merchant_id)
    return state


def history_state(cursor, merchant_id: int) -> dict:
    state = {}
    for table in ("loyaltycustomer", "staffuser", "bankaccount"):
        cursor.execute(
            f"SELECT count(*) FROM merchants_historical{table} WHERE merchant_id = %s", [merchant_id]
        )
        state[f"historical{table} rows"] = cursor.fetchone()[0]
    cursor.execute(
        """SELECT count(*), count(*) FILTER (WHERE address <> '' OR latitude IS NOT NULL OR longitude IS NOT NULL)
           FROM merchants_historicaloutlet WHERE merchant_id = %s""",
        [merchant_id],
    )
    state["historicaloutlet rows, still personal"] = cursor.fetchone()
    cursor.execute(
        """SELECT count(*), count(*) FILTER (WHERE business_name NOT LIKE 'h$%%' OR owner_email NOT LIKE 'h$%%'
               OR owner_phone <> '' OR owner_phone_e164 IS NOT NULL OR owner_name <> '[dihapus]')
           FROM merchants_historicalmerchant WHERE id = %s""",
        [merchant_id],
    )
    state["historicalmerchant rows, still personal"] = cursor.fetchone()
    return state


def verify(cursor, merchant_id: int, *, expected: dict, reference: dict | None, history_kept: bool) -> dict:
    """Fail loudly unless the purge left what the data map says; return the end state."""
    state = end_state(cursor, merchant_id)
    problems = []
    for table in ("loyaltycustomer", "staffuser", "bankaccount", "devicesession"):
        if state[f"{table} rows"]:
            problems.append(f"{state[f'{table} rows']} {table} rows left")
    for key in ("sales", "lines", "payments"):
        if state[key][0] != expected[key]:
            problems.append(f"{key}: {state[key][0]} kept, {expected[key]} seeded")
    for key in ("sales", "payments", "outlets"):
        if state[key][1]:
            problems.append(f"{state[key][1]} {key} still hold personal data")
    m = state["merchant"]
    if not (m[0].startswith("h$") and m[1].startswith("h$") and m[5].startswith("h$") and m[6].startswith("h$")):
        problems.append(f"merchant identifiers not hashed: {m}")
    if m[2] != "[dihapus]" or m[7] != "" or m[8] is not None or m[9] != "" or m[10] != "" or m[4] is not None:
        problems.append(f"merchant personal fields not erased: {m}")
    if not history_kept:
        h = state["history"]
        for key, value in h.items():
            left = value if isinstance(value, int) else value[1]
            if left:
                problems.append(f"history: {key} = {value}")
    if reference is not None:
        for key, value in reference.items():
            if key == "history" and history_kept:
                continue
            if state[key] != value:
                problems.append(f"differs from the engine's end state in {key}: {state[key]} != {value}")
    if problems:
        raise SystemExit("END STATE WRONG for merchant %s:\n  %s" % (merchant_id, "\n  ".join(problems)))
    return state


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


MERCHANT_HASHED = {"business_name": "text", "tax_number": "text", "owner_id_number": "text", "owner_email": "email"}
MERCHANT_CLEARED = {
    "owner_name": "[dihapus]", "owner_gender": "", "owner_birth_date": None, "owner_phone": "",
    "owner_phone_e164": None, "office_address": "", "billing_address": "",
}


def merchant_values(values: dict) -> dict:
    """The tombstone the engine leaves: identifiers keyed-hashed, the rest masked or cleared."""
    from retention.pseudonyms import is_pseudonym, pseudonym

    hashed = {
        c: pseudonym(values[c], kind=kind) for c, kind in MERCHANT_HASHED.items() if values[c] and not is_pseudonym(values[c])
    }
    return {**hashed, **MERCHANT_CLEARED}


def raw_sql_purge(merchant_id: int) -> int:
    """The hand-written baseline: set-based statements in one transaction. Returns its rowcounts' sum."""
    from django.db import connection, transaction

    rows = 0
    p = {"m": merchant_id}
    with transaction.atomic(), connection.cursor() as cursor:

        def run(sql, params=p):
            nonlocal rows
            cursor.execute(sql, params)
            rows += max(cursor.rowcount, 0)

        run("""UPDATE merchants_payment SET bank_name = NULL, card_masked = NULL, reference = NULL
               WHERE merchant_id = %(m)s
                 AND (bank_name IS NOT NULL OR card_masked IS NOT NULL OR reference IS NOT NULL)""")
        run("""UPDATE merchants_sale SET customer_id = NULL, cashier_id = NULL, receipt_email = NULL,
                   receipt_phone = NULL, receipt_phone_e164 = NULL
               WHERE merchant_id = %(m)s
                 AND (customer_id IS NOT NULL OR cashier_id IS NOT NULL OR receipt_email IS NOT NULL
                      OR receipt_phone IS NOT NULL OR receipt_phone_e164 IS NOT NULL)""")
        run("DELETE FROM merchants_devicesession WHERE merchant_id = %(m)s")
        for table in ("loyaltycustomer", "staffuser", "bankaccount"):
            run(f"""DELETE FROM merchants_historical{table}
                    WHERE merchant_id = %(m)s
                       OR id IN (SELECT id FROM merchants_{table} WHERE merchant_id = %(m)s)""")
            run(f"DELETE FROM merchants_{table} WHERE merchant_id = %(m)s")
        run("""UPDATE merchants_outlet SET address = '', latitude = NULL, longitude = NULL
               WHERE merchant_id = %(m)s AND (address <> '' OR latitude IS NOT NULL OR longitude IS NOT NULL)""")
        run("""UPDATE merchants_historicaloutlet SET address = '', latitude = NULL, longitude = NULL
               WHERE (merchant_id = %(m)s OR id IN (SELECT id FROM merchants_outlet WHERE merchant_id = %(m)s))
                 AND (address <> '' OR latitude IS NOT NULL OR longitude IS NOT NULL)""")
        # The merchant and its history copies: keyed hashes are computed in Python, as the engine does.
        columns = list(MERCHANT_HASHED)
        for table, key in (("merchants_merchant", "id"), ("merchants_historicalmerchant", "history_id")):
            cursor.execute(f"SELECT {key}, {', '.join(columns)} FROM {table} WHERE id = %s", [merchant_id])
            tuples, params = [], []
            for pk, *values in cursor.fetchall():
                new = merchant_values(dict(zip(columns, values)))
                tuples.append("(%s" + ", %s" * (len(columns) + len(MERCHANT_CLEARED)) + ")")
                params += [pk, *[new.get(c, old) for c, old in zip(columns, values)], *MERCHANT_CLEARED.values()]
            if not tuples:
                continue
            names = [*columns, *MERCHANT_CLEARED]
            casts = {"owner_birth_date": "::date"}
            run(
                f"""UPDATE {table} t SET {", ".join(f"{c} = v.{c}{casts.get(c, '')}" for c in names)}
                    FROM (VALUES {", ".join(tuples)}) AS v(k, {", ".join(names)}) WHERE t.{key} = v.k""",
                params,
            )
    return rows


def orm_purge(merchant_id: int) -> int:
    """What a Django team writes first: cascade delete() and QuerySet.update(). Returns the ORM's counts."""
    from django.db import transaction

    from merchants.models import BankAccount, DeviceSession, LoyaltyCustomer, Merchant, Outlet, Payment, Sale, StaffUser

    rows = 0
    with transaction.atomic():
        for model in (LoyaltyCustomer, DeviceSession, StaffUser, BankAccount):
            rows += model.objects.filter(merchant_id=merchant_id).delete()[0]
        rows += Sale.objects.filter(merchant_id=merchant_id).update(
            customer=None, cashier=None, receipt_email=None, receipt_phone=None, receipt_phone_e164=None
        )
        rows += Payment.objects.filter(merchant_id=merchant_id).update(bank_name=None, card_masked=None, reference=None)
        rows += Outlet.objects.filter(merchant_id=merchant_id).update(address="", latitude=None, longitude=None)
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

    rule_id = RetentionRule.objects.get(key="merchant-churn").pk
    user, _ = get_user_model().objects.get_or_create(username="bench-officer")
    now = timezone.now()
    started = time.perf_counter()
    cursor.execute(
        """
        INSERT INTO merchants_merchant (business_name, business_type, tax_number, owner_name, owner_gender,
            owner_id_number, owner_email, owner_phone, office_address, billing_address, plan,
            subscription_started_at, churned_at, preferred_language, country_of_origin, created_at)
        SELECT 'Planner ' || g, 'Ritel', '', 'Pemilik ' || g, '', '', 'p' || g || '@example.id', '', '', '',
               'basic', %(now)s::timestamptz - interval '400 days', %(now)s::timestamptz - interval '1 day', 'id',
               'ID', %(now)s::timestamptz - interval '400 days'
        FROM generate_series(1, %(n)s) g
        RETURNING id
        """,
        {"now": now, "n": merchants},
    )
    ids = sorted(i for (i,) in cursor.fetchall())
    first = ids[0]
    # 100 due (20 of them held), 1% purged and 1% cancelled in the past, the rest due in 1..45 days.
    cursor.execute(
        """
        INSERT INTO retention_purgeschedule (merchant_id, rule_id, churned_at, due_at, state, warnings_sent,
            claimed_by, updated_at, purged_at)
        SELECT m, %(rule)s, %(now)s::timestamptz - interval '20 days',
               CASE WHEN g <= 100 OR mod(g, 50) IN (1, 2) THEN %(now)s::timestamptz - g * interval '1 minute'
                    ELSE %(now)s::timestamptz + (1 + mod(g, 45)) * interval '1 day' END,
               CASE WHEN g <= 100 THEN 'scheduled' WHEN mod(g, 50) = 1 THEN 'purged'
                    WHEN mod(g, 50) = 2 THEN 'cancelled' ELSE 'scheduled' END,
               '{}'::jsonb, '', %(now)s, CASE WHEN g > 100 AND mod(g, 50) = 1 THEN %(now)s END
        FROM (SELECT id m, row_number() OVER (ORDER BY id) g FROM merchants_merchant WHERE id >= %(first)s) x
        """,
        {"rule": rule_id, "now": now, "first": first},
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
    cursor.execute("VACUUM ANALYZE retention_purgeschedule")
    cursor.execute("VACUUM ANALYZE retention_legalhold")
    cursor.execute("VACUUM ANALYZE merchants_merchant")
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
    return {"merchants": merchants, "seeded": seeded, "timings": timings, "due": len(due), "plan": plan}


# -- the benchmark ---------------------------------------------------------------------------


def analyse(cursor) -> None:
    """VACUUM ANALYZE the governed tables and CHECKPOINT: every contender starts from the same state."""
    for table, _, _ in CHECKSUM_TABLES:
        cursor.execute(f"VACUUM ANALYZE {table}")
    cursor.execute("CHECKPOINT")


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
                who: [seed_merchant(cursor, size, business_name=f"Toko Uji {size.name}") for _ in range(runs[size.name])]
                for who in CONTENDERS
            }
            cursor.execute(
                """SELECT (SELECT count(*) FROM merchants_sale WHERE merchant_id = %(m)s),
                          (SELECT count(*) FROM merchants_saleline WHERE merchant_id = %(m)s),
                          (SELECT count(*) FROM merchants_payment WHERE merchant_id = %(m)s)""",
                {"m": copies[size.name]["engine"][0]},
            )
            sales, lines, payments = cursor.fetchone()
            expected[size.name] = {"sales": sales, "lines": lines, "payments": payments}
            print(f"   seeded {len(CONTENDERS) * runs[size.name]} identical copies of {size.name} "
                  f"({runs[size.name]} per contender): {sales:,} sales, {lines:,} lines, {payments:,} payments, "
                  f"{size.customers} customers, {size.staff} staff, {size.outlets} outlets, "
                  f"{size.sessions:,} sessions each, in {time.perf_counter() - started:.1f}s")
        bystander = seed_merchant(cursor, sizes[0], business_name="Toko Tetangga")
        bystander_sum = checksum(cursor, bystander)
        print(f"   seeded the bystander merchant {bystander} (a small one); checksum {bystander_sum}")

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
    print(f"== Daily planner at {plan['merchants']:,} merchants with a purge schedule (seeded in {plan['seeded']:.1f}s)")
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
