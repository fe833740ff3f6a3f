"""The whole promise, checked as an auditor checks it, not as the code was written.

Before an erasure (a subject's), a purge (a merchant's) and the end of the request records'
period, every personal value the data map says the erasure removes is captured from the live
rows and their history copies. After it, every row of every table of the database (not only
the governed ones: `SELECT t::text` of each table, as a `pg_dump --data-only` would show it)
is read, and none of those values may be left anywhere, while what the data map keeps is still
there. Values that also belong to people or merchants outside the erasure (held before it, in
rows it does not reach) are not the erased person's to lose, and are left out of the search.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from merchants.models import Sale
from messaging.models import OutboundMessage
from requests_portal.audit import audit_anchor, audit_verify
from requests_portal.models import DataSubjectRequest, RequestAttachment, RequestEvent, RequestMessage, VerificationCode
from retention import services
from retention.models import RetentionRule
from retention.registry import FieldErasure, RowErasure, datamap
from retention.selectors import subject_conditions

from .conftest import build_shop, closed, entered, merchant_checksum, submitted, warned_schedule

pytestmark = pytest.mark.django_db(transaction=True)

MIN_LENGTH = 5  # shorter values ("F", "12") would be found by chance in any dump


def _text(value) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()  # a file's content, as the dump shows bytea (\x...)
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
    """Every personal value held by rows a purge does not reach: other merchants' (theirs to
    keep), and the records of no merchant (a request naming the shop is the proof of how its
    customer was answered, kept under its own rule)."""
    from django.db.models import Q

    values = set()
    for entry in datamap:
        outside = ~Q(**{entry.merchant: merchant_id}) if entry.merchant else Q()
        for model in filter(None, (entry.model, entry.history_model)):
            values |= _values(model, outside, list(entry.personal))
    return values


def test_after_a_purge_no_erased_value_of_the_merchant_is_left_anywhere(seeded):
    shop = build_shop(customers=4, sales=12)
    bystander = build_shop(email_domain="tetangga.id")
    untouched = merchant_checksum(bystander.pk)
    schedule = warned_schedule(shop)  # its warnings' messages are about it too
    erased, kept = _merchant_values(shop.pk)
    # a customer's request about the shop, which the purge must leave whole
    request = submitted(name="Wulan Sari", email="wulan@pelanggan.id", merchant=shop, shop=shop.tax_number)
    erased -= _outside(shop.pk) | kept
    assert shop.business_name in erased and shop.owner_email in erased and len(erased) > 40
    assert shop.tax_number not in erased  # named by the request, which keeps it
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
    # and the request about the shop is the requester's, untouched
    assert DataSubjectRequest.objects.filter(
        pk=request.pk, merchant=shop, shop_name=shop.tax_number, email="wulan@pelanggan.id"
    ).exists()
    assert RequestAttachment.objects.filter(request=request).exists()


def _siti_everywhere() -> tuple[dict, set[str], set[str]]:
    """Siti's requests and a message to her beside her shop records (the `siti` fixture); her
    identifiers, the values an erasure must remove from everywhere, and those it keeps."""
    OutboundMessage.objects.create(
        kind="request_reply", to_email="siti.rahayu@gmail.com", subject="Permintaan Anda, Siti Rahayu",
        body="Yth. Siti Rahayu, nomor Anda 0812-3456-7890", state="sent", sent_at=timezone.now(),
    )
    # her requests: one from the form (codes, a letter of authority, messages), still open;
    # one an officer entered from another address of hers, found by her phone, refused
    submitted(name="Siti Rahayu", email="Siti.Rahayu@gmail.com", phone="0812 3456 7890", withdraw=False)
    entered(_officer(), name="Siti Rahayu Wibowo", email="siti.kantor@contoh.id", phone="+62 812-3456-7890")
    submitted(name="Budi Hartono", email="budi@contoh.co.id", phone="0812 7777 6666")  # someone else's
    audit_anchor()
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
    assert {"siti.rahayu@gmail.com", "+6281234567890", "siti.kantor@contoh.id", "Siti Rahayu Wibowo"} <= erased
    letter = RequestAttachment.objects.get(request__email__iexact="siti.rahayu@gmail.com")
    assert bytes(letter.content).hex() in erased and "Ibunda Siti Rahayu" in erased
    return identifiers, erased, kept


def _assert_siti_gone(erased: set[str], kept: set[str]) -> None:
    dump = database_dump()
    assert_none_left(erased, dump)
    assert "budi@contoh.co.id" in dump  # someone else, at the same shop, keeps everything
    assert "Budi Hartono" in dump and "+6281277776666" in dump  # and someone else's request too
    assert all(value in dump for value in kept), sorted(v for v in kept if v not in dump)
    # her requests are kept, anonymised, and their audit chain still verifies
    assert DataSubjectRequest.objects.count() == 3 and audit_verify().intact


def test_after_a_subject_erasure_none_of_her_values_is_left_anywhere_and_others_keep_theirs(seeded, siti):
    identifiers, erased, kept = _siti_everywhere()
    run = services.subject_erase(**identifiers)
    assert run.state == "completed" and run.rows_done == run.rows_total
    _assert_siti_gone(erased, kept)


class Killed(Exception):
    """What kill -9 does to a worker mid-batch: the batch in flight rolls back, nothing else runs."""


def test_a_subject_erasure_killed_after_her_requests_are_hashed_is_finished_by_the_sweep(seeded, siti):
    """The worker dies one batch after the erasure reached her requests (their addresses are keyed
    hashes: nothing left in the database names the rest of her rows). The sweep opens the run's
    seal and the engine finishes: nothing of her left anywhere, the seal emptied, and the two
    attempts together did exactly what the dry run planned, nothing twice."""
    from datetime import timedelta

    from retention.engine import Erasure, Scope
    from retention.models import ErasureRun
    from retention.pseudonyms import is_pseudonym
    from retention.services.runs import RunClaim, run_erasure
    from retention.services.subject import subject_erasure_start

    identifiers, erased, kept = _siti_everywhere()
    planned = services.subject_erase(**identifiers, dry_run=True).counts
    run = subject_erasure_start(**identifiers)
    assert run.state == "pending" and run.sealed_scope
    assert not any(v.casefold() in run.sealed_scope.casefold() for v in erased)  # sealed, not readable

    claim = RunClaim.take(run.pk)
    reached = []

    def die_after_her_requests(rows):
        if reached:
            raise Killed
        emails = DataSubjectRequest.objects.exclude(email="").values_list("email", flat=True)
        if sum(map(is_pseudonym, emails)) == 2:  # both of hers hashed in this batch (Budi's is not)
            reached.append(True)

    engine = Erasure(Scope.subject(**identifiers), batch_size=1)
    with pytest.raises(Killed):
        run_erasure(claim, engine, remaining=run.rows_total, on_progress=die_after_her_requests)
    run.refresh_from_db()
    assert run.state == "running" and 0 < run.rows_done < run.rows_total
    assert not DataSubjectRequest.objects.filter(email__iexact="siti.rahayu@gmail.com").exists()
    ErasureRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))

    assert services.work_resume_stalled()["runs"] == 1  # queued, run in process (eager)
    run.refresh_from_db()
    assert run.state == "completed" and run.attempts == 2 and run.sealed_scope == ""
    assert run.counts == planned  # what the dry run planned, each row once
    _assert_siti_gone(erased, kept)


def _officer():
    """Who enters a request that came by e-mail (the flush of these tests took the groups)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("petugas", password="x" * 12)


def _request_values(requests) -> set[str]:
    """Every personal value of these requests' records, as the data map declares them: the row
    and its history copies, its events, codes, attachments, and the messages it sent."""
    from django.db.models import Q

    ids = [r.pk for r in requests]
    message_ids = RequestMessage.objects.filter(request__in=ids).values("message_id")
    where = {
        DataSubjectRequest: Q(pk__in=ids), RequestEvent: Q(request__in=ids), VerificationCode: Q(request__in=ids),
        RequestAttachment: Q(request__in=ids), OutboundMessage: Q(pk__in=message_ids),
    }
    values = set()
    for model, condition in where.items():
        entry = datamap.get(model)
        values |= _values(model, condition, _erased_fields(entry))
        if entry.history_model is not None:
            values |= _values(entry.history_model, Q(id__in=ids), _erased_fields(entry))
    return values


def test_two_years_after_closing_no_value_of_a_request_is_left_anywhere_and_its_chain_verifies(
    seeded, django_capture_on_commit_callbacks,
):
    officer = _officer()
    period = timedelta(days=RetentionRule.objects.get(key="request-records").period)
    old = [
        closed(submitted(name="Siti Rahayu", email="siti.rahayu@gmail.com", phone="0812 3456 7890"),
               ago=period + timedelta(days=1)),
        closed(entered(officer, name="Agus Salim", email="agus.salim@contoh.id", phone="0813 5555 4444"),
               ago=period + timedelta(days=40)),
    ]
    recent = [
        closed(submitted(name="Budi Hartono", email="budi.h@contoh.id", phone="0812 7777 6666"),
               ago=period - timedelta(days=1)),
        submitted(name="Rina Marlina", email="rina@contoh.id", withdraw=False),
    ]
    audit_anchor()
    erased = _request_values(old)
    others = _request_values(recent)
    for entry in datamap:
        if entry.model not in (DataSubjectRequest, RequestEvent, VerificationCode, RequestAttachment, OutboundMessage):
            others |= _values(entry.model, Q(), list(entry.personal))
    erased -= others
    assert {"siti.rahayu@gmail.com", "+6281234567890", "Agus Salim", "Ibunda Siti Rahayu"} <= erased
    assert any("agus.salim@contoh.id" in value for value in erased)  # in his events' notes too

    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_plan()["records_expired"] == 1

    dump = database_dump()
    assert_none_left(erased, dump)
    assert all(value in dump for value in others if not value.startswith("h$")), sorted(
        v for v in others if v not in dump
    )
    # the proof stays: every request, every event, the chain whole
    assert DataSubjectRequest.objects.count() == 4
    report = audit_verify()
    assert report.intact and report.events == RequestEvent.objects.count() > 0


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
