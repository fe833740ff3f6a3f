"""The whole promise, checked as an auditor checks it, not as the code was written.

Before an erasure (a subject's) and a purge (a merchant's), every personal value the data map
says the erasure removes is captured from the live rows and their history copies. After it,
every row of every table of the database (not only the governed ones: `SELECT t::text` of each
table, as a `pg_dump --data-only` would show it) is read, and none of those values may be left
anywhere, while what the data map keeps is still there. Values that also belong to people or
merchants outside the erasure (held before it, in rows it does not reach) are not the erased
person's to lose, and are left out of the search.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from merchants.models import Sale
from messaging.models import OutboundMessage
from retention import services
from retention.registry import FieldErasure, RowErasure, datamap
from retention.selectors import subject_conditions

from .conftest import build_shop, merchant_checksum, warned_schedule

pytestmark = pytest.mark.django_db(transaction=True)

MIN_LENGTH = 5  # shorter values ("F", "12") would be found by chance in any dump


def _text(value) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return None  # an instant is not an identifier here (and sales keep theirs)
    if isinstance(value, (date, Decimal, int, float)):
        value = str(value)
    value = str(value).strip()
    if len(value) < MIN_LENGTH or value.isdigit() and len(value) < 8 or len(set(value)) < 3:
        return None  # "0000000000" would be found inside any longer number
    return value


def _values(model, queryset_filter, fields) -> set[str]:
    if not fields:
        return set()
    columns = [model._meta.get_field(f).attname for f in fields]
    found = set()
    for row in model._default_manager.filter(queryset_filter).values_list(*columns):
        found.update(filter(None, map(_text, row)))
    return found


def _erased_fields(entry, party=None):
    """The fields an erasure removes in this table (of one party, or all)."""
    if entry.erasure == RowErasure.DELETE:
        return [name for name in entry.personal if not entry.model._meta.get_field(name).is_relation]
    return [
        name for name in entry.fields_of(party)
        if entry.personal[name].erase is not FieldErasure.RETAIN and not entry.model._meta.get_field(name).is_relation
    ]


def _kept_fields(entry):
    if entry.erasure == RowErasure.DELETE:
        return []
    return [name for name, spec in entry.personal.items() if spec.erase is FieldErasure.RETAIN]


def database_dump() -> str:
    """Every row of every table of the database as text (what pg_dump --data-only shows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        tables = [t for (t,) in cursor.fetchall()]
        chunks = []
        for table in tables:
            cursor.execute(f'SELECT t::text FROM "{table}" t')
            chunks.extend(f"{table}: {row}" for (row,) in cursor.fetchall())
    return "\n".join(chunks)


def assert_none_left(erased: set[str], dump: str):
    lowered = dump.casefold()
    left = sorted(v for v in erased if v.casefold() in lowered)
    where = {v: [line[:160] for line in dump.splitlines() if v.casefold() in line.casefold()][:3] for v in left}
    assert not left, f"erased values still in the database: {where}"


def _merchant_values(merchant_id):
    from django.db.models import Q

    erased, kept = set(), set()
    for entry in datamap:
        if not entry.merchant:
            continue
        for model in filter(None, (entry.model, entry.history_model)):
            erased |= _values(model, Q(**{entry.merchant: merchant_id}), _erased_fields(entry))
            kept |= _values(model, Q(**{entry.merchant: merchant_id}), _kept_fields(entry))
    return erased, kept


def _outside(merchant_id):
    """Every personal value held by other merchants' rows (theirs to keep)."""
    from django.db.models import Q

    values = set()
    for entry in datamap:
        if not entry.merchant:
            continue
        for model in filter(None, (entry.model, entry.history_model)):
            values |= _values(model, ~Q(**{entry.merchant: merchant_id}), list(entry.personal))
    return values


def test_after_a_purge_no_erased_value_of_the_merchant_is_left_anywhere(seeded):
    shop = build_shop(customers=4, sales=12)
    bystander = build_shop(email_domain="tetangga.id")
    untouched = merchant_checksum(bystander.pk)
    schedule = warned_schedule(shop)  # its warnings' messages are about it too
    erased, kept = _merchant_values(shop.pk)
    erased -= _outside(shop.pk) | kept
    assert shop.business_name in erased and shop.owner_email in erased and len(erased) > 40
    totals = sorted(Sale.objects.filter(merchant=shop).values_list("receipt_number", "total"))

    run = services.merchant_purge(schedule_id=schedule.pk)
    assert run.state == "completed"

    dump = database_dump()
    assert_none_left(erased, dump)
    # what the law keeps is still there: every sale, its number and amount, anonymised
    assert sorted(Sale.objects.filter(merchant=shop).values_list("receipt_number", "total")) == totals
    assert all(value in dump for value in kept if not value.startswith("h$")), sorted(v for v in kept if v not in dump)
    assert merchant_checksum(bystander.pk) == untouched
    # the proof of the purge and of its warnings is kept, with no content
    assert OutboundMessage.objects.filter(merchant=shop, state="sent").count() == 3


def test_after_a_subject_erasure_none_of_her_values_is_left_anywhere_and_others_keep_theirs(seeded, siti):
    from django.db.models import Q

    OutboundMessage.objects.create(
        kind="request_reply", to_email="siti.rahayu@gmail.com", subject="Permintaan Anda, Siti Rahayu",
        body="Yth. Siti Rahayu, nomor Anda 0812-3456-7890", state="sent", sent_at=timezone.now(),
    )
    identifiers = {"phone": "081234567890", "email": "siti.rahayu@gmail.com"}
    conditions = subject_conditions(**identifiers)
    erased, kept, reached = set(), set(), {}
    for label, per_party in conditions.items():
        entry = datamap.maps[label]
        parties = per_party.items() if entry.erasure == RowErasure.ANONYMISE else [(None, _or(per_party.values()))]
        for party, condition in parties:
            erased |= _values(entry.model, condition, _erased_fields(entry, party))
            kept |= _values(entry.model, condition, _kept_fields(entry))
        reached[label] = _or(per_party.values())
    # her old addresses in history copies, found by the identifiers themselves
    erased |= {"081234567890", "+6281234567890", "siti.rahayu@gmail.com"}
    others = set()
    for entry in datamap:
        condition = reached.get(entry.label)
        rest = ~condition if condition is not None else Q()
        others |= _values(entry.model, rest, list(entry.personal))
    erased -= others | kept
    assert {"siti.rahayu@gmail.com", "+6281234567890"} <= erased

    run = services.subject_erase(**identifiers)
    assert run.state == "completed" and run.rows_done == run.rows_total

    dump = database_dump()
    assert_none_left(erased, dump)
    assert "budi@contoh.co.id" in dump  # someone else, at the same shop, keeps everything
    assert all(value in dump for value in kept), sorted(v for v in kept if v not in dump)


def _or(conditions):
    from django.db.models import Q

    combined = Q()
    for condition in conditions:
        combined |= condition
    return combined


def test_the_dump_reads_every_table(seeded):
    """The auditor's reader is not blind: a value written anywhere is found."""
    shop = build_shop(customers=1, sales=1)
    OutboundMessage.objects.create(kind="x", to_email="penanda.unik@contoh.co.id", merchant=shop, subject="s")
    dump = database_dump()
    assert "penanda.unik@contoh.co.id" in dump and "merchants_historicalloyaltycustomer" in dump
    with pytest.raises(AssertionError, match="penanda.unik"):
        assert_none_left({"penanda.unik@contoh.co.id"}, dump)
