"""What in consent is personal, and how an erasure treats it.

- The ledger (`ConsentEvent`) is proof of consent (UU PDP Pasal 22, 24), kept under the rule
  `consent-proof`. The database lets no one change it but to replace the subject's identifiers
  and evidence with keyed hashes (migration 0002), and only this app's erasure hook does that
  (`FieldErasure.HOOK`): it pseudonymises the rows of the erased subject (or, in a purge, of the
  merchant's customers), then replays the ledger for the identifiers it touched, so the state
  beside it is still exactly what the ledger says, now under the hashes. "Did this person
  consent, when, to what?" is still answered for whoever knows the address.
- The disclosure register is the proof of what went to whom, and the list of recipients to tell
  of an erasure: kept under the same rule, the subject's address replaced by its keyed hash.
- A stored API answer (`IdempotencyKey`) may quote the subject: it goes with her, and after a day.
"""

from __future__ import annotations

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from retention.pseudonyms import pseudonym, pseudonym_q
from retention.registry import Category as C
from retention.registry import FieldErasure as E
from retention.registry import FindBy, Personal, RowErasure, datamap

from .models import (
    ApiClient, ConsentEvent, ConsentState, Disclosure, ErasureNotice, IdempotencyKey, PolicyAcceptance,
    PolicyNotice, PolicyNoticeDelivery, PolicyVersion, Purpose, Recipient,
)

RULE = "consent-proof"
HOOK = "consent-ledger"

datamap.register(
    ConsentEvent,
    description="Buku besar persetujuan (hanya ditambah): siapa, tujuan apa, diberikan atau ditarik, buktinya.",
    erasure=RowErasure.ANONYMISE,
    retained_under=RULE,
    erased_by=HOOK,
    personal={
        "email": Personal(C.CONTACT, find_by=FindBy.EMAIL, erase=E.HOOK),
        "phone": Personal(C.CONTACT, find_by=FindBy.PHONE, erase=E.HOOK),
        "ip_address": Personal(C.TECHNICAL, erase=E.HOOK),
        "user_agent": Personal(C.TECHNICAL, erase=E.HOOK),
    },
    not_personal=(
        "id", "merchant", "purpose", "action", "policy_version", "channel", "occurred_at", "recorded_at",
        "text_shown", "entered_by", "client", "reference",
    ),
)

datamap.register(
    ConsentState,
    description="Status persetujuan terkini per subjek dan tujuan (diturunkan dari buku besar).",
    erasure=RowErasure.ANONYMISE,
    retained_under=RULE,
    erased_by=HOOK,
    personal={"identifier": Personal(C.CONTACT, erase=E.HOOK)},
    not_personal=(
        "id", "merchant", "purpose", "consented", "consent_event", "consent_at", "restricted", "restriction_event",
        "restriction_at", "updated_at",
    ),
)

datamap.register(
    Disclosure,
    description="Register pengungkapan data kepada pihak ketiga (diizinkan atau ditolak).",
    erasure=RowErasure.ANONYMISE,
    retained_under=RULE,
    personal={
        "email": Personal(C.CONTACT, find_by=FindBy.EMAIL, erase=E.HASH),
        "phone": Personal(C.CONTACT, find_by=FindBy.PHONE, erase=E.HASH),
    },
    not_personal=(
        "id", "recipient", "merchant", "categories", "purpose", "basis", "transfer_abroad", "occurred_at",
        "recorded_at", "outcome", "refusal", "client", "entered_by", "reference",
    ),
)

datamap.register(
    IdempotencyKey,
    description="Jawaban API yang disimpan sehari untuk panggilan ulang (dapat memuat data subjek).",
    merchant=None,
    personal={
        "subject_email": Personal(C.CONTACT, find_by=FindBy.EMAIL),
        "subject_phone": Personal(C.CONTACT, find_by=FindBy.PHONE),
        "response": Personal(C.TECHNICAL),
    },
    not_personal=("id", "client", "key", "endpoint", "request_hash", "status_code", "created_at"),
)

datamap.exempt_model(Purpose, reason="Tujuan pemrosesan: teks kebijakan, bukan data pribadi.")
datamap.exempt_model(PolicyVersion, reason="Teks kebijakan privasi dan hash-nya.")
datamap.exempt_model(PolicyAcceptance, reason="Merchant menerima versi kebijakan: tanggal dan versi.")
datamap.exempt_model(PolicyNotice, reason="Catatan proses pemberitahuan: jumlah dan waktu.")
datamap.exempt_model(
    PolicyNoticeDelivery, reason="Tautan merchant ke pesan pemberitahuannya (alamatnya ada di pesan keluar)."
)
datamap.exempt_model(Recipient, reason="Register penerima: badan usaha dan kontak resminya.")
datamap.exempt_model(
    apps.get_model("consent", "HistoricalRecipient_purposes"), reason="Riwayat tujuan penerima (register, bukan orang)."
)
datamap.exempt_model(ApiClient, reason="Klien API JUNOPOS: sistem, bukan orang; token hanya hash.")
# The proof that a recipient was told of an erasure: it names the subject only by keyed hashes
# (never her address: it outlives her erasure), as an erasure run does. The e-mail that told the
# recipient is an outbox row, declared by messaging; its text goes once it was delivered.
datamap.exempt_model(
    ErasureNotice,
    reason="Bukti pemberitahuan penghapusan kepada penerima: hash berkunci subjek, kategori dan waktu, tanpa alamat.",
)


LEDGER_FIELDS = ("email", "phone", "ip_address", "user_agent")


def _ledger_rows(scope):
    rows = ConsentEvent.objects.all()
    if scope.is_subject:
        found = Q()
        if scope.email:
            found |= Q(email=scope.email)
        if scope.phone:
            found |= Q(phone=scope.phone)
        rows = rows.filter(found)
        if scope.merchant_id is not None:
            rows = rows.filter(merchant_id=scope.merchant_id)
        if scope.exclude_merchants:
            rows = rows.exclude(merchant_id__in=scope.exclude_merchants)
    else:
        rows = rows.filter(merchant_id=scope.merchant_id)
    # Rows that still hold something to erase (a second run finds none).
    plain = lambda column: ~Q(**{column: ""}) & ~pseudonym_q(column)  # noqa: E731
    return rows.filter(plain("email") | plain("phone") | Q(ip_address__isnull=False) | ~Q(user_agent=""))


# Ledger rows rewritten per statement (bulk_update: one UPDATE ... CASE per batch; the ledger has
# no history rows to keep, and its trigger checks each row all the same).
HOOK_BATCH = 1000


def _write(batch: list[ConsentEvent]) -> int:
    ConsentEvent.objects.bulk_update(batch, LEDGER_FIELDS)
    written = len(batch)
    batch.clear()
    return written


def _hashed(value: str, kind: str) -> str:
    return value if not value or value.startswith("h$") else pseudonym(value, kind=kind)


def _kind(identifier: str) -> str:
    return "email" if "@" in identifier else "phone"


def _unsupported_states(rows):
    """State rows of the plain identifiers in `rows` that no event outside `rows` supports: after
    the run the ledger knows them only under the hash. (Rows of the same identifier in a merchant
    the scope leaves alone keep their plain identifier, as their events do.)"""
    identifiers = Q(identifier__in=rows.values("email")) | Q(identifier__in=rows.values("phone"))
    others = ConsentEvent.objects.filter(
        Q(email=OuterRef("identifier")) | Q(phone=OuterRef("identifier")), purpose_id=OuterRef("purpose_id"),
    ).exclude(pk__in=rows.values("pk"))
    states = ConsentState.objects.filter(identifiers).exclude(pseudonym_q("identifier"))
    # merchant_id = OuterRef(...) is never true for NULL = NULL: the merchant-less rows separately.
    with_merchant = states.filter(merchant__isnull=False).exclude(
        Exists(others.filter(merchant_id=OuterRef("merchant_id")))
    )
    without = states.filter(merchant__isnull=True).exclude(Exists(others.filter(merchant__isnull=True)))
    return with_merchant | without


def ledger_pseudonymise(scope, *, dry_run: bool) -> dict[str, dict[str, int]]:
    """The erasure hook: replace identifiers and evidence with keyed hashes, then rekey the state.

    Each state row the erased events alone supported keeps its row and takes the hash as its
    identifier (merged into the hash's row where one exists already, e.g. after an earlier
    erasure); then the rows of every identifier touched are replayed from the ledger, so the
    state is exactly what the ledger says. Counted: events and state rows changed, the dry run's
    counts from the same queries.
    """
    if scope.is_expiry:
        return {}  # proof of consent has no end of its own here: it outlives the data it allowed
    rows = _ledger_rows(scope)
    states = _unsupported_states(rows)
    if dry_run:
        return _counts(rows.count(), states.count())
    from .services.ledger import consent_state_rebuild

    touched: set[str] = set()
    changed = 0
    with transaction.atomic():
        rekey = list(states.values_list("pk", "identifier", "merchant_id", "purpose_id"))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # the trigger's second condition (migration 0002)
                cursor.execute("SELECT set_config('juno.ledger_erasure', 'on', true)")
        batch: list[ConsentEvent] = []
        for event in rows.only("id", *LEDGER_FIELDS).order_by("pk").iterator(chunk_size=HOOK_BATCH):
            touched.update(v for v in (event.email, event.phone) if v)
            event.email, event.phone = _hashed(event.email, "email"), _hashed(event.phone, "phone")
            event.ip_address, event.user_agent = None, ""
            batch.append(event)
            if len(batch) == HOOK_BATCH:
                changed += _write(batch)
        changed += _write(batch)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('juno.ledger_erasure', 'off', true)")
        for pk, identifier, merchant_id, purpose_id in rekey:
            hashed = _hashed(identifier, _kind(identifier))
            taken = ConsentState.objects.filter(identifier=hashed, purpose_id=purpose_id).filter(
                Q(merchant_id=merchant_id) if merchant_id is not None else Q(merchant__isnull=True)
            )
            if not taken.exists():  # else the replay below folds it into the hash's row and drops this one
                ConsentState.objects.filter(pk=pk).update(identifier=hashed)
        hashed = {_hashed(v, _kind(v)) for v in touched}
        consent_state_rebuild(identifiers=touched | hashed, fix=True)
    return _counts(changed, len(rekey))


def _counts(events: int, states: int) -> dict[str, dict[str, int]]:
    counts = {}
    if events:
        counts[ConsentEvent._meta.db_table] = {"anonymised": events}
    if states:
        counts[ConsentState._meta.db_table] = {"anonymised": states}
    return counts


datamap.erasure_hook(HOOK, ledger_pseudonymise)
