"""What bench/purge.py and bench/fleet.py share: set-based seeding of churned merchants, the
hand-written raw-SQL purge (the baseline), and the end-state checks.

Everything here runs inside the benchmark's Django process (after django.setup()), on the
throwaway PostgreSQL of scripts/services.sh. Seeding is SQL only (INSERT ... SELECT over
generate_series, no ORM rows), so copies seeded with the same arguments are identical, and
seeding many merchants costs a few statements, not a few per merchant.

The raw-SQL baseline names tables: it is a benchmark of hand-written SQL, not a second data map.
The keyed hashes (merchant identifiers, outlet names, message addresses) are computed in
Python with retention.pseudonyms.pseudonym, as the engine does, for the few rows that need one.
"""

from __future__ import annotations

from dataclasses import dataclass

SEED_TIME = "2025-01-01 08:00:00+07"
CHURN_AFTER = "300 days"  # a seeded churned merchant stopped this long after SEED_TIME
# retention.pseudonyms.PATTERN, as a PostgreSQL regular expression.
PSEUDONYM_RE = r"^h\$[0-9a-f]{62}$"
MASK = "[dihapus]"


# -- sizes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    name: str
    sales: int
    customers: int
    staff: int
    outlets: int
    sessions: int


def size_for(name: str, sales: int, *, customers: int | None = None) -> Size:
    """A merchant of `sales` sales and the people, outlets and sessions that go with that size."""
    big = sales >= 100_000
    return Size(
        name=name,
        sales=sales,
        customers=customers if customers is not None else (600 if big else 300),
        staff=40 if big else 8,
        outlets=10 if big else 2,
        sessions=max(10, sales // 20),
    )


# -- seeding: set-based SQL only -------------------------------------------------------------


def seed_merchants(cursor, size: Size, names: list[str], *, churned: bool = True) -> list[int]:
    """One merchant per name with all its rows, every table filled in one statement for all of them.

    Merchants seeded with the same name and size are identical (an outlet is named after its
    business, as JUNOPOS's are). Returns their ids in the order of `names`. A churned merchant
    stopped CHURN_AFTER after SEED_TIME; call seed_schedules to give it its purge schedule.
    """
    p = {"names": list(names), "t0": SEED_TIME, "churned": churned, "churn_after": CHURN_AFTER}
    cursor.execute(
        """
        INSERT INTO merchants_merchant (business_name, business_type, tax_number, owner_name, owner_gender,
            owner_birth_date, owner_id_number, owner_email, owner_phone, owner_phone_e164, office_address,
            billing_address, plan, subscription_started_at, churned_at, preferred_language, country_of_origin,
            created_at)
        SELECT n.name, 'Ritel', '01.234.567.8-901.000', 'Budi Santoso', 'M', '1980-04-17', '3171021704800001',
            lower(regexp_replace(n.name, '[^A-Za-z0-9]+', '.', 'g')) || '@example.id', '0812-3456-7890',
            '+6281234567890', 'Jl. Jenderal Sudirman No. 1, Jakarta', 'Jl. Jenderal Sudirman No. 1, Jakarta', 'pro',
            %(t0)s, CASE WHEN %(churned)s THEN %(t0)s::timestamptz + %(churn_after)s::interval END, 'id', 'ID', %(t0)s
        FROM unnest(%(names)s::text[]) WITH ORDINALITY n(name, k)
        ORDER BY n.k
        RETURNING id
        """,
        p,
    )
    # Ids come from the sequence in the order the rows are produced: the order of `names`.
    p["mids"] = ids = sorted(i for (i,) in cursor.fetchall())
    p.update(
        outlets=size.outlets, staff=size.staff, customers=size.customers, sales=size.sales, sessions=size.sessions
    )
    statements = [
        # Outlets, named after the business with a place, as JUNOPOS's are.
        """
        INSERT INTO merchants_outlet (merchant_id, name, address, city, latitude, longitude, created_at)
        SELECT m.id, m.business_name || ' Cabang ' || g, 'Jl. Melati No. ' || g || ', Jakarta Selatan', 'Jakarta',
               -6.2 - g / 1000.0, 106.8 + g / 1000.0, %(t0)s
        FROM merchants_merchant m CROSS JOIN generate_series(1, %(outlets)s) g
        WHERE m.id = ANY(%(mids)s)
        ORDER BY m.id, g
        """,
        # Staff, each at an outlet.
        """
        WITH o AS (SELECT merchant_id mid, array_agg(id ORDER BY id) a FROM merchants_outlet
                   WHERE merchant_id = ANY(%(mids)s) GROUP BY merchant_id)
        INSERT INTO merchants_staffuser (merchant_id, outlet_id, name, username, password_hash, email, phone,
            phone_e164, job_title, authorisation_level, is_active, created_at)
        SELECT o.mid, o.a[1 + mod(g, cardinality(o.a))], 'Kasir ' || g, 'kasir' || g,
               'pbkdf2_sha256$600000$' || md5(g::text), 'kasir' || g || '@example.id',
               '0857-' || lpad(g::text, 8, '0'), '+62857' || lpad(g::text, 8, '0'),
               CASE WHEN g = 1 THEN 'Pemilik' ELSE 'Kasir' END,
               CASE WHEN g = 1 THEN 'owner' ELSE 'cashier' END, true, %(t0)s
        FROM o CROSS JOIN generate_series(1, %(staff)s) g
        ORDER BY o.mid, g
        """,
        # Loyalty customers.
        """
        INSERT INTO merchants_loyaltycustomer (merchant_id, name, gender, birth_date, phone, phone_e164, email,
            loyalty_card_number, points, accepts_marketing, created_at)
        SELECT m, 'Pelanggan ' || g, CASE WHEN mod(g, 2) = 0 THEN 'F' ELSE 'M' END,
               date '1970-01-01' + g * 30, '0813-' || lpad(g::text, 8, '0'), '+62813' || lpad(g::text, 8, '0'),
               'pelanggan' || g || '@example.id', 'LC' || lpad(g::text, 10, '0'), mod(g * 37, 1000),
               mod(g, 3) = 0, %(t0)s
        FROM unnest(%(mids)s::bigint[]) m CROSS JOIN generate_series(1, %(customers)s) g
        ORDER BY m, g
        """,
        # The bank account.
        """
        INSERT INTO merchants_bankaccount (merchant_id, bank_name, account_number, account_holder, created_at)
        SELECT m, 'BCA', '1234567890', 'Budi Santoso', %(t0)s FROM unnest(%(mids)s::bigint[]) m ORDER BY m
        """,
        # Sales: every one has a cashier, 40% a loyalty customer, 30% a receipt e-mail, 10% a phone.
        # A merchant's sales are contiguous in the table (the same layout for every contender).
        """
        WITH o AS (SELECT merchant_id mid, array_agg(id ORDER BY id) a FROM merchants_outlet
                   WHERE merchant_id = ANY(%(mids)s) GROUP BY merchant_id),
             s AS (SELECT merchant_id mid, array_agg(id ORDER BY id) a FROM merchants_staffuser
                   WHERE merchant_id = ANY(%(mids)s) GROUP BY merchant_id),
             c AS (SELECT merchant_id mid, array_agg(id ORDER BY id) a FROM merchants_loyaltycustomer
                   WHERE merchant_id = ANY(%(mids)s) GROUP BY merchant_id)
        INSERT INTO merchants_sale (merchant_id, outlet_id, cashier_id, customer_id, receipt_number, receipt_email,
            receipt_phone, receipt_phone_e164, subtotal, tax, total, sold_at)
        SELECT o.mid, o.a[1 + mod(g, cardinality(o.a))], s.a[1 + mod(g, cardinality(s.a))],
               CASE WHEN mod(g, 5) < 2 THEN c.a[1 + mod(g, cardinality(c.a))] END,
               'R' || lpad(g::text, 9, '0'),
               CASE WHEN mod(g, 10) < 3 THEN 'pembeli' || mod(g, 997) || '@example.id' END,
               CASE WHEN mod(g, 10) = 5 THEN '0878-' || lpad(mod(g, 99991)::text, 8, '0') END,
               CASE WHEN mod(g, 10) = 5 THEN '+62878' || lpad(mod(g, 99991)::text, 8, '0') END,
               5000 + mod(g, 500) * 1000, (5000 + mod(g, 500) * 1000) * 0.11,
               (5000 + mod(g, 500) * 1000) * 1.11, %(t0)s::timestamptz + g * interval '2 minutes'
        FROM o JOIN s ON s.mid = o.mid JOIN c ON c.mid = o.mid CROSS JOIN LATERAL generate_series(1, %(sales)s) g
        ORDER BY o.mid, g
        """,
        # Two or three lines per sale (the receipt number's parity decides).
        """
        INSERT INTO merchants_saleline (merchant_id, sale_id, product_name, sku, quantity, unit_price, line_total)
        SELECT s.merchant_id, s.id, 'Produk ' || k, 'SKU-' || lpad(k::text, 5, '0'), k, 2500, 2500 * k
        FROM merchants_sale s
        CROSS JOIN LATERAL generate_series(1, 2 + mod(right(s.receipt_number, 1)::int, 2)) k
        WHERE s.merchant_id = ANY(%(mids)s)
        ORDER BY s.id, k
        """,
        # One payment per sale: cash (nothing personal), debit/credit card, QRIS (a reference).
        """
        INSERT INTO merchants_payment (merchant_id, sale_id, method, bank_name, card_masked, reference, amount, paid_at)
        SELECT s.merchant_id, s.id, (ARRAY['cash', 'debit', 'credit', 'qris'])[1 + mod(n, 4)],
               CASE WHEN mod(n, 4) IN (1, 2) THEN 'BCA' END,
               CASE WHEN mod(n, 4) IN (1, 2) THEN '4111 11** **** ' || lpad(mod(n, 9973)::text, 4, '0') END,
               CASE WHEN mod(n, 4) <> 0 THEN 'REF' || lpad(n::text, 12, '0') END,
               s.total, s.sold_at
        FROM (SELECT *, right(receipt_number, 9)::int n FROM merchants_sale WHERE merchant_id = ANY(%(mids)s)) s
        ORDER BY s.id
        """,
        # Device sessions of the staff.
        """
        WITH s AS (SELECT merchant_id mid, array_agg(id ORDER BY id) a FROM merchants_staffuser
                   WHERE merchant_id = ANY(%(mids)s) GROUP BY merchant_id)
        INSERT INTO merchants_devicesession (merchant_id, staff_id, device_id, ip_address, user_agent, app_version,
            os_name, latitude, longitude, started_at)
        SELECT s.mid, s.a[1 + mod(g, cardinality(s.a))], 'dev-' || mod(g, 50),
               ('10.' || mod(g, 250) || '.' || mod(g / 250, 250) || '.1')::inet,
               'JUNOPOS/5.2 (Android 13; SM-A145F)', '5.2.' || mod(g, 9), 'Android', -6.2, 106.8,
               %(t0)s::timestamptz + g * interval '1 hour'
        FROM s CROSS JOIN generate_series(1, %(sessions)s) g
        ORDER BY s.mid, g
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
        where = "t.id = ANY(%(mids)s)" if model == "merchant" else "t.merchant_id = ANY(%(mids)s)"
        cursor.execute(
            f"""
            INSERT INTO merchants_historical{model} ({", ".join(columns)}, history_date, history_type,
                history_change_reason, history_user_id)
            SELECT {", ".join(values)}, t.created_at + (2 - k) * interval '1 day',
                   CASE WHEN k = ({copies}) - 1 THEN '+' ELSE '~' END, NULL, NULL
            FROM {table} t CROSS JOIN LATERAL generate_series(0, ({copies}) - 1) k
            WHERE {where}
            ORDER BY t.id, k
            """,
            p,
        )
    return ids


def seed_schedules(cursor, merchant_ids: list[int]) -> None:
    """The purge schedules of churned merchants, as the portal leaves them when a purge is due:
    scheduled at churn + the rule's period, both warnings (14 and 3 days before, per the rule)
    recorded with their e-mail to the owner, sent on the day, long delivered.

    Merchants seeded at SEED_TIME churned CHURN_AFTER later (October 2025): everything is due.
    """
    from retention.models import RetentionRule

    rule = RetentionRule.objects.get(key="merchant-churn")
    cursor.execute(
        """
        INSERT INTO retention_purgeschedule (merchant_id, rule_id, churned_at, due_at, state, updated_at, purged_at)
        SELECT m.id, %(rule)s, m.churned_at, m.churned_at + %(period)s * interval '1 day', 'scheduled', m.churned_at,
               NULL
        FROM merchants_merchant m WHERE m.id = ANY(%(mids)s) ORDER BY m.id
        """,
        {"rule": rule.pk, "period": rule.period_delta.days, "mids": list(merchant_ids)},
    )
    seed_warnings(
        cursor,
        """
        SELECT s.id, s.merchant_id, d.days, s.due_at - d.days * interval '1 day', s.due_at - d.days * interval '1 day'
        FROM retention_purgeschedule s CROSS JOIN unnest(%(days)s::int[]) d(days)
        WHERE s.merchant_id = ANY(%(mids)s)
        """,
        {"days": rule.warnings, "mids": list(merchant_ids)},
    )


def seed_warnings(cursor, select: str, params: dict) -> int:
    """PurgeWarning rows and their OutboundMessage, from `select`: rows of (schedule id, merchant
    id, days, created_at, sent_at), sent_at NULL for a message still queued. Returns how many."""
    cursor.execute("DROP TABLE IF EXISTS bench_warnings")
    cursor.execute(
        f"""
        CREATE TEMPORARY TABLE bench_warnings AS
        SELECT nextval(pg_get_serial_sequence('messaging_outboundmessage', 'id')) message_id, w.*
        FROM ({select}) w(schedule_id, merchant_id, days, created_at, sent_at)
        ORDER BY w.schedule_id, w.days DESC
        """,
        params,
    )
    cursor.execute(
        """
        INSERT INTO messaging_outboundmessage (id, channel, kind, to_email, to_phone, merchant_id, language, subject,
            body, state, attempts, last_error, lease_until, created_at, sent_at)
        SELECT w.message_id, 'email', 'purge_warning', m.owner_email, '', m.id, m.preferred_language,
               'Data ' || m.business_name || ' di JUNOPOS akan dihapus dalam ' || w.days || ' hari',
               'Yth. ' || m.owner_name || E',\n\nlangganan ' || m.business_name || ' telah berakhir; datanya akan '
                   || 'dihapus dalam ' || w.days || E' hari.\n\nJUNO Privacy',
               CASE WHEN w.sent_at IS NULL THEN 'queued' ELSE 'sent' END, CASE WHEN w.sent_at IS NULL THEN 0 ELSE 1 END,
               '', NULL, w.created_at, w.sent_at
        FROM bench_warnings w JOIN merchants_merchant m ON m.id = w.merchant_id
        ORDER BY w.message_id
        """
    )
    cursor.execute(
        """
        INSERT INTO retention_purgewarning (schedule_id, days, message_id, created_at)
        SELECT schedule_id, days, message_id, created_at FROM bench_warnings ORDER BY message_id
        """
    )
    n = cursor.rowcount
    cursor.execute("DROP TABLE bench_warnings")
    return n


def seed_bystander(cursor, size: Size, *, name: str = "Toko Tetangga") -> int:
    """A merchant that nobody purges (still a customer), with a message of its own in the outbox."""
    (merchant_id,) = seed_merchants(cursor, size, [name], churned=False)
    cursor.execute(
        """
        INSERT INTO messaging_outboundmessage (channel, kind, to_email, to_phone, merchant_id, language, subject,
            body, state, attempts, last_error, lease_until, created_at, sent_at)
        SELECT 'email', 'request_reply', owner_email, '', id, 'id', 'Jawaban permintaan Anda', 'Yth. ' || owner_name,
               'sent', 1, '', NULL, created_at, created_at
        FROM merchants_merchant WHERE id = %s
        """,
        [merchant_id],
    )
    return merchant_id


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
    ("messaging_outboundmessage", "merchant_id", "id"),
]
# What the benchmarks VACUUM ANALYZE before a contender starts.
ANALYSED_TABLES = [t for t, _, _ in CHECKSUM_TABLES] + [
    "retention_purgeschedule", "retention_purgewarning", "retention_erasurerun",
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
        parts.append("%s:%s" % cursor.fetchone())
    cursor.execute("SELECT md5(%s)", ["/".join(parts)])
    return cursor.fetchone()[0]


def analyse(cursor) -> None:
    """VACUUM ANALYZE the governed tables and CHECKPOINT: every contender starts from the same state."""
    for table in ANALYSED_TABLES:
        cursor.execute(f"VACUUM ANALYZE {table}")
    cursor.execute("CHECKPOINT")


def not_hashed(column: str) -> str:
    """SQL: `column` holds something that is not a keyed hash yet."""
    return f"({column} <> '' AND {column} !~ '{PSEUDONYM_RE}')"


OUTLET_PERSONAL = f"address <> '' OR latitude IS NOT NULL OR longitude IS NOT NULL OR {not_hashed('name')}"
MESSAGE_PERSONAL = (
    f"{not_hashed('to_email')} OR {not_hashed('to_phone')} OR subject NOT IN ('', '{MASK}') OR body <> '' "
    "OR last_error <> ''"
)
MERCHANT_HISTORY_PERSONAL = (
    f"business_name !~ '{PSEUDONYM_RE}' OR owner_email !~ '{PSEUDONYM_RE}' OR tax_number !~ '{PSEUDONYM_RE}' "
    f"OR owner_id_number !~ '{PSEUDONYM_RE}' OR owner_phone <> '' OR owner_phone_e164 IS NOT NULL "
    f"OR owner_name <> '{MASK}' OR office_address <> '' OR billing_address <> ''"
)
HISTORY_KEYS = [
    "historicalloyaltycustomer rows", "historicalstaffuser rows", "historicalbankaccount rows",
    "historicaloutlet rows, still personal", "historicalmerchant rows, still personal",
]


def end_states(cursor, merchant_ids: list[int]) -> dict[int, dict]:
    """What is left of each purged merchant, in terms that do not depend on ids (copies compare
    equal): one query per table, grouped by merchant, for all of them."""
    ids = list(merchant_ids)
    states: dict[int, dict] = {m: {} for m in ids}

    def grouped(key: str, sql: str, empty) -> None:
        """`sql` selects (merchant id, value...) for the merchants in %s; missing ones get `empty`."""
        cursor.execute(sql, [ids])
        found = {row[0]: (row[1] if len(row) == 2 else tuple(row[1:])) for row in cursor.fetchall()}
        for m in ids:
            states[m][key] = found.get(m, empty)

    for table in ("loyaltycustomer", "staffuser", "bankaccount", "devicesession"):
        grouped(
            f"{table} rows",
            f"SELECT merchant_id, count(*) FROM merchants_{table} WHERE merchant_id = ANY(%s) GROUP BY 1",
            0,
        )
    grouped(
        "sales",
        """SELECT merchant_id, count(*), count(*) FILTER (WHERE customer_id IS NOT NULL OR cashier_id IS NOT NULL
               OR receipt_email IS NOT NULL OR receipt_phone IS NOT NULL OR receipt_phone_e164 IS NOT NULL),
               md5(string_agg(concat_ws('|', receipt_number, subtotal, tax, total, sold_at), ','
                   ORDER BY receipt_number))
           FROM merchants_sale WHERE merchant_id = ANY(%s) GROUP BY 1""",
        (0, 0, None),
    )
    grouped(
        "lines",
        """SELECT l.merchant_id, count(*), sum(l.line_total),
               md5(string_agg(concat_ws('|', s.receipt_number, l.product_name, l.sku, l.quantity, l.line_total), ','
                   ORDER BY s.receipt_number, l.product_name))
           FROM merchants_saleline l JOIN merchants_sale s ON s.id = l.sale_id WHERE l.merchant_id = ANY(%s)
           GROUP BY 1""",
        (0, None, None),
    )
    grouped(
        "payments",
        """SELECT y.merchant_id, count(*), count(*) FILTER (WHERE bank_name IS NOT NULL OR card_masked IS NOT NULL
               OR reference IS NOT NULL),
               md5(string_agg(concat_ws('|', s.receipt_number, y.method, y.amount, y.paid_at), ','
                   ORDER BY s.receipt_number))
           FROM merchants_payment y JOIN merchants_sale s ON s.id = y.sale_id WHERE y.merchant_id = ANY(%s)
           GROUP BY 1""",
        (0, 0, None),
    )
    grouped(
        "outlets",
        f"""SELECT merchant_id, count(*), count(*) FILTER (WHERE {OUTLET_PERSONAL}),
               md5(string_agg(concat_ws('|', name, address, city, latitude, longitude), ',' ORDER BY name))
           FROM merchants_outlet WHERE merchant_id = ANY(%s) GROUP BY 1""",
        (0, 0, None),
    )
    grouped(
        "messages",
        f"""SELECT merchant_id, count(*), count(*) FILTER (WHERE {MESSAGE_PERSONAL}),
               md5(string_agg(concat_ws('|', channel, kind, to_email, to_phone, language, subject, body, state,
                   attempts, last_error, created_at, sent_at), ',' ORDER BY created_at, kind, to_email))
           FROM messaging_outboundmessage WHERE merchant_id = ANY(%s) GROUP BY 1""",
        (0, 0, None),
    )
    grouped(
        "schedule",
        """SELECT s.merchant_id, s.state, (SELECT count(*) FROM retention_purgewarning w WHERE w.schedule_id = s.id)
           FROM retention_purgeschedule s WHERE s.merchant_id = ANY(%s)""",
        None,
    )
    grouped(
        "merchant",
        """SELECT id, business_name, tax_number, owner_name, owner_gender, owner_birth_date, owner_id_number,
               owner_email, owner_phone, owner_phone_e164, office_address, billing_address, preferred_language
           FROM merchants_merchant WHERE id = ANY(%s)""",
        None,
    )
    # History.
    for table in ("loyaltycustomer", "staffuser", "bankaccount"):
        grouped(
            f"historical{table} rows",
            f"SELECT merchant_id, count(*) FROM merchants_historical{table} WHERE merchant_id = ANY(%s) GROUP BY 1",
            0,
        )
    grouped(
        "historicaloutlet rows, still personal",
        f"""SELECT merchant_id, count(*), count(*) FILTER (WHERE {OUTLET_PERSONAL})
           FROM merchants_historicaloutlet WHERE merchant_id = ANY(%s) GROUP BY 1""",
        (0, 0),
    )
    grouped(
        "historicalmerchant rows, still personal",
        f"""SELECT id, count(*), count(*) FILTER (WHERE {MERCHANT_HISTORY_PERSONAL})
           FROM merchants_historicalmerchant WHERE id = ANY(%s) GROUP BY 1""",
        (0, 0),
    )
    for m in ids:
        states[m]["history"] = {k: states[m].pop(k) for k in HISTORY_KEYS}
    return states


def end_state(cursor, merchant_id: int) -> dict:
    return end_states(cursor, [merchant_id])[merchant_id]


def problems_in(state: dict, *, expected: dict, reference: dict | None, history_kept: bool) -> list[str]:
    """What is wrong with one purged merchant's end state (empty: nothing)."""
    problems = []
    for table in ("loyaltycustomer", "staffuser", "bankaccount", "devicesession"):
        if state[f"{table} rows"]:
            problems.append(f"{state[f'{table} rows']} {table} rows left")
    for key in ("sales", "lines", "payments", "messages"):
        if key in expected and state[key][0] != expected[key]:
            problems.append(f"{key}: {state[key][0]} kept, {expected[key]} seeded")
    for key in ("sales", "payments", "outlets", "messages"):
        if state[key][1]:
            problems.append(f"{state[key][1]} {key} still hold personal data")
    m = state["merchant"]
    if m is None:
        problems.append("merchant row missing")
    else:
        if not all(str(m[i]).startswith("h$") for i in (0, 1, 5, 6)):
            problems.append(f"merchant identifiers not hashed: {m}")
        if m[2] != MASK or m[7] != "" or m[8] is not None or m[9] != "" or m[10] != "" or m[4] is not None:
            problems.append(f"merchant personal fields not erased: {m}")
    if not history_kept:
        for key, value in state["history"].items():
            left = value if isinstance(value, int) else value[1]
            if left:
                problems.append(f"history: {key} = {value}")
    if reference is not None:
        for key, value in reference.items():
            if key == "history" and history_kept:
                continue
            if state[key] != value:
                problems.append(f"differs from the reference end state in {key}: {state[key]} != {value}")
    return problems


def verify(cursor, merchant_id: int, *, expected: dict, reference: dict | None, history_kept: bool) -> dict:
    """Fail loudly unless the purge left what the data map says; return the end state."""
    state = end_state(cursor, merchant_id)
    problems = problems_in(state, expected=expected, reference=reference, history_kept=history_kept)
    if problems:
        raise SystemExit("END STATE WRONG for merchant %s:\n  %s" % (merchant_id, "\n  ".join(problems)))
    return state


# -- the raw-SQL baseline --------------------------------------------------------------------

MERCHANT_HASHED = {"business_name": "text", "tax_number": "text", "owner_id_number": "text", "owner_email": "email"}
MERCHANT_CLEARED = {
    "owner_name": MASK, "owner_gender": "", "owner_birth_date": None, "owner_phone": "",
    "owner_phone_e164": None, "office_address": "", "billing_address": "",
}
OUTLET_HASHED = {"name": "text"}
OUTLET_CLEARED = {"address": "", "latitude": None, "longitude": None}
MESSAGE_HASHED = {"to_email": "email", "to_phone": "phone"}
MESSAGE_CLEARED = {"subject": MASK, "body": "", "last_error": ""}


def hashed_values(values: dict, kinds: dict) -> dict:
    """Keyed hashes of the filled, not yet hashed `values`, as the engine computes them."""
    from retention.pseudonyms import is_pseudonym, pseudonym

    return {c: pseudonym(values[c], kind=kind) for c, kind in kinds.items() if values[c] and not is_pseudonym(values[c])}


def merchant_values(values: dict) -> dict:
    """The tombstone the engine leaves: identifiers keyed-hashed, the rest masked or cleared."""
    return {**hashed_values(values, MERCHANT_HASHED), **MERCHANT_CLEARED}


def _anonymise_with_hashes(run, cursor, table: str, key: str, where: str, params: list, hashed: dict,
                           cleared: dict, pending: str, casts: dict | None = None) -> None:
    """UPDATE the rows of `table` matching `where` that hold something personal (`pending`): the
    columns of `hashed` get their keyed hash (computed here, per row), those of `cleared` a constant;
    one UPDATE ... FROM (VALUES ...) for all of them."""
    columns = list(hashed)
    cursor.execute(f"SELECT {key}, {', '.join(columns)} FROM {table} WHERE ({where}) AND ({pending})", params)
    rows = cursor.fetchall()
    if not rows:
        return
    names = [*columns, *cleared]
    tuples, values = [], []
    for pk, *old in rows:
        new = hashed_values(dict(zip(columns, old)), hashed)
        tuples.append("(%s" + ", %s" * len(names) + ")")
        values += [pk, *[new.get(c, o) for c, o in zip(columns, old)], *cleared.values()]
    casts = casts or {}
    run(
        f"""UPDATE {table} t SET {", ".join(f"{c} = v.{c}{casts.get(c, '')}" for c in names)}
            FROM (VALUES {", ".join(tuples)}) AS v(k, {", ".join(names)}) WHERE t.{key} = v.k""",
        values,
    )


def raw_sql_purge(merchant_id: int, *, mark_schedule: bool = False) -> int:
    """The hand-written baseline: set-based statements in one transaction. Returns its rowcounts' sum.

    `mark_schedule`: also record the merchant's schedule as purged in the same transaction (the
    least bookkeeping a hand-written purge job needs: bench/fleet.py).
    """
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
        # The messages about the merchant: the proof of sending stays, address hashed, text gone.
        _anonymise_with_hashes(
            run, cursor, "messaging_outboundmessage", "id", "merchant_id = %s", [merchant_id], MESSAGE_HASHED,
            MESSAGE_CLEARED, MESSAGE_PERSONAL,
        )
        # Outlets and their history copies: the name (it carries the business's) hashed, the place cleared.
        casts = {"latitude": "::numeric", "longitude": "::numeric"}
        _anonymise_with_hashes(
            run, cursor, "merchants_outlet", "id", "merchant_id = %s", [merchant_id], OUTLET_HASHED, OUTLET_CLEARED,
            OUTLET_PERSONAL, casts,
        )
        _anonymise_with_hashes(
            run, cursor, "merchants_historicaloutlet", "history_id",
            "merchant_id = %s OR id IN (SELECT id FROM merchants_outlet WHERE merchant_id = %s)",
            [merchant_id, merchant_id], OUTLET_HASHED, OUTLET_CLEARED, OUTLET_PERSONAL, casts,
        )
        # The merchant and its history copies: a tombstone.
        for table, key in (("merchants_merchant", "id"), ("merchants_historicalmerchant", "history_id")):
            _anonymise_with_hashes(
                run, cursor, table, key, "id = %s", [merchant_id], MERCHANT_HASHED, MERCHANT_CLEARED, "true",
                {"owner_birth_date": "::date"},
            )
        if mark_schedule:
            run("""UPDATE retention_purgeschedule SET state = 'purged', purged_at = now(), updated_at = now()
                   WHERE merchant_id = %(m)s AND state = 'scheduled'""")
    return rows
