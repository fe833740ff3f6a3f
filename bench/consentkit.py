"""Seeding of bench/consent.py: a consent ledger of millions of events and the state it implies,
in plain SQL (INSERT ... SELECT over generate_series; no ORM row), and the sample of checks the
load sends.

Everything here runs inside the benchmark's Django process (after django.setup()), on the
throwaway PostgreSQL of scripts/services.sh. The ledger's and the state's secondary indexes are
dropped during the load and built again after it from their own definitions (pg_indexes), and
foreign-key triggers are off while the rows go in (`session_replication_role = replica`; every
reference is checked by one query after); the append-only trigger refuses UPDATE, DELETE and
TRUNCATE and never an INSERT, so it stays.

The subjects are numbered 1..N and their identifiers follow from the number (so the load can
also name subjects the ledger has never seen):
- 60% an e-mail only, 25% an E.164 phone only, 15% both (an event about them names the e-mail,
  the phone or, most often, both);
- 10% are the customers of one of the seeded merchants: four in five of their events are
  recorded within that merchant, the rest as choices made to JUNOPOS itself (no merchant).
Each of the first N events is about subject N (every subject has one), the rest about random
subjects (five events a subject on average). Purposes are weighted toward marketing (consent)
and the three legitimate-interest ones; actions are those each purpose's basis allows (`given`
only for consent, `withdrawn` for consent or an objection to a legitimate interest,
`restricted` and `unrestricted` for any).

The state is what replaying the ledger gives (consent.services.ledger.fold): per identifier,
merchant and purpose, the latest consent action and the latest restriction action by
(occurred_at, id), computed by DISTINCT ON in one sorted pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

LEDGER = "consent_consentevent"
STATE = "consent_consentstate"

# Purpose key: share of the events (per cent). Marketing and the legitimate interests dominate.
PURPOSE_SHARES = {
    "marketing": 35, "service-improvement": 12, "product-features": 12, "research": 11, "transactions": 5,
    "support": 5, "communication": 5, "transaction-contact": 5, "kyc": 5, "law-enforcement": 5,
}
# Basis: (action, share) - only what consent.services.ledger.consent_validate accepts for it.
ACTION_SHARES = {
    "consent": [("given", 55), ("withdrawn", 35), ("restricted", 6), ("unrestricted", 4)],
    "legitimate_interest": [("withdrawn", 60), ("restricted", 24), ("unrestricted", 16)],
    "contract": [("restricted", 60), ("unrestricted", 40)],
    "legal_obligation": [("restricted", 60), ("unrestricted", 40)],
}
CHANNELS = ["till", "till", "till", "till", "app", "app", "portal", "admin", "import", "api"]
USER_AGENTS = [
    "JUNOPOS-Till/4.12 (Android 11; Sunmi V2)", "JUNOPOS/3.8 (iPhone; iOS 17.5)",
    "Mozilla/5.0 (Linux; Android 14) Chrome/126", "JUNOPOS-Backoffice/2.3",
]
DOMAINS = ["example.com", "example.net", "example.org", "example.co.id"]
TEXT_SHOWN = ("Saya setuju menerima promosi, diskon dan kabar terbaru dari JUNOPOS dan toko ini lewat e-mail, "
              "SMS atau WhatsApp. Persetujuan ini dapat ditarik kapan saja.")
FIRST_EVENT = "2023-01-01 00:00:00+07"
EVENT_DAYS = 1400  # events happen between FIRST_EVENT and about November 2026
CUSTOMER_SHARE_TENTHS = 1  # subjects who are a merchant's customers, in tenths
EVENT_CHUNK = 250_000  # events per INSERT statement (progress is printed per chunk)


def email_of(subject: int) -> str:
    return f"pelanggan{subject}@{DOMAINS[subject % 4]}"


def phone_of(subject: int) -> str:
    return f"+62812{subject:08d}"


def kind_of(subject: int) -> str:
    k = subject % 20
    return "email" if k < 12 else "phone" if k < 17 else "both"


def merchant_of(subject: int, merchant_ids: list[int]) -> int | None:
    """The merchant whose customer the subject is, or None (the SQL below says the same)."""
    if (subject * 7) % 10 >= CUSTOMER_SHARE_TENTHS:
        return None
    return merchant_ids[(subject * 7919) % len(merchant_ids)]


# The same three functions in SQL, over a column `s` (bigint).
SQL_EMAIL = "'pelanggan' || s || '@' || (%(domains)s::text[])[1 + s %% 4]"
SQL_PHONE = "'+62812' || lpad(s::text, 8, '0')"
SQL_MERCHANT = "CASE WHEN (s * 7) %% 10 < %(customer_tenths)s THEN (%(mids)s::bigint[])[1 + (s * 7919) %% %(m)s] END"


@dataclass
class Seeded:
    merchants: list[int]
    events: int = 0
    subjects: int = 0
    states: int = 0
    seconds: dict | None = None


def seed_merchants(cursor, count: int) -> list[int]:
    """`count` live merchants (the shops whose customers some subjects are), one statement."""
    cursor.execute(
        """
        INSERT INTO merchants_merchant (business_name, business_type, tax_number, owner_name, owner_gender,
            owner_birth_date, owner_id_number, owner_email, owner_phone, owner_phone_e164, office_address,
            billing_address, plan, subscription_started_at, churned_at, preferred_language, country_of_origin,
            created_at)
        SELECT 'Toko Pelanggan ' || k, 'Ritel', '', 'Pemilik ' || k, 'F', NULL, '', 'toko' || k || '@example.id',
            '', NULL, 'Jakarta', '', 'pro', '2024-01-01 08:00+07', NULL, 'id', 'ID', '2024-01-01 08:00+07'
        FROM generate_series(1, %s) k ORDER BY k
        RETURNING id
        """,
        [count],
    )
    return sorted(i for (i,) in cursor.fetchall())


def _case(column: str, thresholds: list[tuple[str, float]]) -> str:
    """CASE WHEN column < t1 THEN v1 ... ELSE vn END over cumulative shares."""
    total = sum(share for _, share in thresholds)
    parts, acc = [], 0.0
    for value, share in thresholds[:-1]:
        acc += share / total
        parts.append(f"WHEN {column} < {acc:.6f} THEN {value}")
    return f"CASE {' '.join(parts)} ELSE {thresholds[-1][0]} END"


def ledger_insert_sql(purposes: dict[str, tuple[int, str]]) -> str:
    """The INSERT of events lo..hi (parameters), given {purpose key: (id, basis)}."""
    purpose_case = _case("r_purpose", [(str(purposes[k][0]), share) for k, share in PURPOSE_SHARES.items()])
    action_case = "CASE purpose_id " + " ".join(
        f"WHEN {pid} THEN " + _case("r_action", [(f"'{a}'", share) for a, share in ACTION_SHARES[basis]])
        for pid, basis in purposes.values()
    ) + " END"
    return f"""
        INSERT INTO {LEDGER} (email, phone, action, channel, occurred_at, recorded_at, ip_address, user_agent,
            text_shown, reference, client_id, entered_by_id, merchant_id, policy_version_id, purpose_id)
        SELECT
            CASE WHEN kind < 12 OR (kind >= 17 AND r_ident < 0.85) THEN {SQL_EMAIL} ELSE '' END,
            CASE WHEN kind BETWEEN 12 AND 16 OR (kind >= 17 AND r_ident >= 0.15) THEN {SQL_PHONE} ELSE '' END,
            {action_case},
            (%(channels)s::text[])[1 + (e %% 10)],
            occurred_at,
            occurred_at + (e %% 900) * interval '1 second',
            CASE WHEN e %% 3 = 0 THEN ('10.' || (e %% 250) || '.' || (e / 250 %% 250) || '.' || (e / 62500 %% 250))::inet END,
            (%(agents)s::text[])[1 + (e %% 4)],
            CASE WHEN purpose_id = %(marketing)s THEN %(text_shown)s ELSE '' END,
            '', NULL, NULL,
            CASE WHEN r_merchant < 0.8 THEN {SQL_MERCHANT} END,
            %(policy)s,
            purpose_id
        FROM (
            SELECT e, s, s %% 20 AS kind, r_ident, r_merchant, r_action, occurred_at, {purpose_case} AS purpose_id
            FROM (
                SELECT e, CASE WHEN e <= %(n)s THEN e ELSE 1 + floor(random() * %(n)s)::bigint END AS s,
                    random() AS r_ident, random() AS r_purpose, random() AS r_action, random() AS r_merchant,
                    %(t0)s::timestamptz + random() * interval '{EVENT_DAYS} days' AS occurred_at
                FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) e
            ) r
        ) x
    """


def _indexes(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE '%%_pkey'", [table]
    )
    return cursor.fetchall()


def _in_threads(jobs: list[Callable[[], None]]) -> None:
    """Each job in a thread of its own (a Django connection of its own), errors raised here."""
    from django.db import connection

    failed: list[BaseException] = []

    def run(job):
        try:
            job()
        except BaseException as error:  # noqa: BLE001 - raised in the caller's thread
            failed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]


def seed_ledger(*, events: int, subjects: int, merchants: int, parallel: int = 2,
                say: Callable[[str], None] = print) -> Seeded:
    """The ledger, its state and their indexes, analysed. Prints progress through `say`."""
    from django.db import connection

    from consent.models import PolicyVersion, Purpose

    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    purposes = {p.key: (p.pk, p.basis) for p in Purpose.objects.all()}
    policy = PolicyVersion.objects.filter(published_at__isnull=False).order_by("effective_at").values_list("pk", flat=True).first()
    with connection.cursor() as cursor:
        merchant_ids = seed_merchants(cursor, merchants)
        dropped = {table: _indexes(cursor, table) for table in (LEDGER, STATE)}
        for table, indexes in dropped.items():
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
    params = {
        "domains": DOMAINS, "customer_tenths": CUSTOMER_SHARE_TENTHS, "mids": merchant_ids, "m": len(merchant_ids),
        "channels": CHANNELS, "agents": USER_AGENTS, "marketing": purposes["marketing"][0], "text_shown": TEXT_SHOWN,
        "policy": policy, "n": subjects, "t0": FIRST_EVENT,
    }
    sql = ledger_insert_sql(purposes)
    chunks = [(lo, min(lo + EVENT_CHUNK - 1, events)) for lo in range(1, events + 1, EVENT_CHUNK)]
    done = {"events": 0}
    lock = threading.Lock()
    t0 = time.perf_counter()

    def loader(part: list[tuple[int, int]]):
        def job():
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")  # no FK trigger per row; checked after
                for lo, hi in part:
                    cursor.execute(sql, {**params, "lo": lo, "hi": hi})
                    with lock:
                        done["events"] += hi - lo + 1
                        say(f"   ledger: {done['events']:,} of {events:,} events "
                            f"({time.perf_counter() - t0:.0f}s)")
        return job

    _in_threads([loader(chunks[i::parallel]) for i in range(parallel)])
    timings["events"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    state_count = seed_state(parallel=parallel)
    timings["state"] = time.perf_counter() - t0
    say(f"   state: {state_count:,} rows replayed in SQL ({timings['state']:.0f}s)")

    t0 = time.perf_counter()
    statements = [defn for indexes in dropped.values() for _, defn in indexes]
    # The big ones first, spread over the connections.
    statements.sort(key=lambda d: (STATE in d, "email" not in d and "phone" not in d and "one_state" not in d))

    def builder(part: list[str]):
        def job():
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '512MB'")
                for definition in part:
                    cursor.execute(definition)
        return job

    _in_threads([builder(statements[i::parallel]) for i in range(parallel)])
    timings["indexes"] = time.perf_counter() - t0
    say(f"   indexes: {len(statements)} built again ({timings['indexes']:.0f}s)")

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        references_check(cursor)
        cursor.execute(f"VACUUM ANALYZE {LEDGER}")
        cursor.execute(f"VACUUM ANALYZE {STATE}")
        cursor.execute("ANALYZE merchants_merchant")
    timings["analyse"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all
    say(f"   references checked, VACUUM ANALYZE ({timings['analyse']:.0f}s)")
    return Seeded(merchants=merchant_ids, events=events, subjects=subjects, states=state_count, seconds=timings)


# The replay in SQL: every (identifier, event) pair, the latest per key and kind (consent or
# restriction), folded into one row per key. `part`/`parts` split the identifiers by hash so that
# several connections share the work.
STATE_SQL = f"""
    INSERT INTO {STATE} (identifier, merchant_id, purpose_id, consented, consent_event_id, consent_at, restricted,
        restriction_event_id, restriction_at, updated_at)
    SELECT ident, merchant_id, purpose_id,
        bool_or(action = 'given') FILTER (WHERE is_consent),
        max(id) FILTER (WHERE is_consent),
        max(occurred_at) FILTER (WHERE is_consent),
        coalesce(bool_or(action = 'restricted') FILTER (WHERE NOT is_consent), false),
        max(id) FILTER (WHERE NOT is_consent),
        max(occurred_at) FILTER (WHERE NOT is_consent),
        now()
    FROM (
        SELECT DISTINCT ON (ident, coalesce(merchant_id, 0), purpose_id, is_consent)
            ident, merchant_id, purpose_id, is_consent, action, id, occurred_at
        FROM (
            SELECT v.ident, e.merchant_id, e.purpose_id, e.action IN ('given', 'withdrawn') AS is_consent,
                e.action, e.id, e.occurred_at
            FROM {LEDGER} e CROSS JOIN LATERAL (VALUES (e.email), (e.phone)) v(ident)
            WHERE v.ident <> '' AND (hashtext(v.ident) & 2147483647) %% %(parts)s = %(part)s
        ) pairs
        ORDER BY ident, coalesce(merchant_id, 0), purpose_id, is_consent, occurred_at DESC, id DESC
    ) latest
    GROUP BY ident, coalesce(merchant_id, 0), purpose_id, merchant_id
"""


def seed_state(*, parallel: int = 2) -> int:
    from django.db import connection

    def job(part: int):
        def run():
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
                cursor.execute("SET work_mem = '1GB'")
                cursor.execute(STATE_SQL, {"parts": parallel, "part": part})
        return run

    _in_threads([job(i) for i in range(parallel)])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {STATE}")
        return cursor.fetchone()[0]


def references_check(cursor) -> None:
    """What the foreign keys would have refused while their triggers were off: nothing."""
    cursor.execute(
        f"""
        SELECT
            (SELECT count(*) FROM {LEDGER} e WHERE e.merchant_id IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM merchants_merchant m WHERE m.id = e.merchant_id)),
            (SELECT count(*) FROM {LEDGER} e WHERE NOT EXISTS (SELECT 1 FROM consent_purpose p WHERE p.id = e.purpose_id)),
            (SELECT count(*) FROM {STATE} s WHERE NOT EXISTS (SELECT 1 FROM {LEDGER} e WHERE e.id = s.consent_event_id)
                AND s.consent_event_id IS NOT NULL),
            (SELECT count(*) FROM {STATE} s WHERE NOT EXISTS (SELECT 1 FROM {LEDGER} e WHERE e.id = s.restriction_event_id)
                AND s.restriction_event_id IS NOT NULL)
        """
    )
    bad = cursor.fetchone()
    if any(bad):
        raise SystemExit(f"seeded rows with dangling references (merchant, purpose, consent event, restriction event): {bad}")


# -- what the load asks ---------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    email: str | None
    phone: str | None
    merchant_id: int | None
    purpose: str

    def body(self) -> dict:
        found = {"purpose": self.purpose}
        if self.email:
            found["email"] = self.email
        if self.phone:
            found["phone"] = self.phone
        if self.merchant_id is not None:
            found["merchant_id"] = self.merchant_id
        return found


def checks_sample(rng, *, count: int, subjects: int, merchant_ids: list[int]) -> list[Check]:
    """`count` checks: three in four about a subject from the state table (a random row: its
    identifier, its merchant if it has one, its own purpose half of the time, otherwise any), one
    in four about someone the ledger has never seen (with a merchant a tenth of the time)."""
    from django.db import connection

    keys = list(PURPOSE_SHARES)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, id FROM consent_purpose")
        key_of = {pid: key for key, pid in cursor.fetchall()}
        known = count - count // 4
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [STATE])
        rows_estimate = max(1.0, cursor.fetchone()[0])
        percent = min(100.0, 100.0 * 3 * known / rows_estimate)  # about three times the rows needed
        cursor.execute(
            f"SELECT identifier, merchant_id, purpose_id FROM {STATE} TABLESAMPLE SYSTEM (%s) REPEATABLE (%s) LIMIT %s",
            [percent, rng.getrandbits(31), known * 3],
        )
        rows = cursor.fetchall()
    rng.shuffle(rows)
    checks = []
    for identifier, merchant_id, purpose_id in rows[:known]:
        purpose = key_of[purpose_id] if rng.random() < 0.5 else rng.choice(keys)
        is_email = "@" in identifier
        checks.append(Check(identifier if is_email else None, None if is_email else identifier, merchant_id, purpose))
    while len(checks) < count:
        s = subjects + 1 + rng.randrange(10 * subjects)
        kind = kind_of(s)
        merchant_id = rng.choice(merchant_ids) if rng.random() < 0.1 else None
        checks.append(Check(email_of(s) if kind != "phone" else None, phone_of(s) if kind != "email" else None,
                            merchant_id, rng.choice(keys)))
    rng.shuffle(checks)
    return checks


def sample_subject_identifiers(rng, *, subjects: int, count: int) -> list[str]:
    """Every identifier of `count` random seeded subjects (for the rebuild's check)."""
    found = []
    for s in rng.sample(range(1, subjects + 1), count):
        kind = kind_of(s)
        if kind != "phone":
            found.append(email_of(s))
        if kind != "email":
            found.append(phone_of(s))
    return found


def never_seen(check: Check, subjects: int) -> bool:
    """Whether a check of checks_sample is about someone outside the seeded subjects."""
    identifier = check.email or check.phone or ""
    digits = identifier.split("@")[0].removeprefix("pelanggan") if check.email else identifier.removeprefix("+62812")
    return digits.isdigit() and int(digits) > subjects
