"""The regulator's view: for one data subject or one merchant, what is held and what was done.

A dossier answers, from the data map and the records the portal keeps, never from a list of
tables of its own:
- what the governed tables hold now, per table and per policy category, as counts (never values);
  for a subject also what is still kept under the keyed hashes of her identifiers (the proof of
  her requests, consent and disclosures after an erasure);
- every data-subject request of that person (matched by her normalised identifiers, or by their
  keyed hashes once erased), or naming that merchant, with every step of it and whether its
  hash chain verifies;
- every erasure run that concerned it (matched by the keyed hashes the run keeps, or the
  merchant's id), with counts per table and action and what was kept under which rule;
- consent events and disclosures, by identifier or keyed hash.

A dossier never names the identifier it was asked for: it speaks of the subject by the keyed
hashes of her identifiers, so it can be handed on without carrying what an erasure removed.

Queries are bounded by the size of the data map, never by the number of requests, events,
runs or consent events: one count per declared table, then one query per section (events and
their actors prefetched in one more).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.db.models import Count, Max, Min, Prefetch, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from consent.models import ConsentEvent, Disclosure, ErasureNotice
from merchants.identifiers import normalize_email, normalize_phone
from merchants.models import Merchant
from retention.engine import ANONYMISED
from retention.models import ErasureRun, LegalHold, PurgeSchedule, RetentionRule
from retention.pseudonyms import is_pseudonym, pseudonym
from retention.registry import Category, FieldErasure, ModelMap, datamap
from retention.selectors import identifier_condition, subject_records

from .audit import hash_of, text_digest
from .models import JAKARTA, DataSubjectRequest, RequestEvent


class DossierError(ValueError):
    """The dossier cannot be drawn up as asked (no valid identifier); the message is for a person."""


# -- what a dossier holds ---------------------------------------------------------------------


@dataclass
class TableCount:
    label: str
    table: str
    name: str
    count: int
    categories: list[str]


@dataclass
class Holdings:
    tables: list[TableCount] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(t.count for t in self.tables)

    @property
    def by_category(self) -> dict[str, int]:
        """Rows per policy category (a row counts under each category its table holds), in the policy's order."""
        counts = {c.value: 0 for c in Category}
        for table in self.tables:
            for category in table.categories:
                counts[category] += table.count
        return {k: v for k, v in counts.items() if v}


@dataclass
class EventEntry:
    seq: int
    verb: str
    actor: str
    at: datetime
    from_state: str
    to_state: str


@dataclass
class RequestEntry:
    reference: str
    right: str
    state: str
    channel: str
    created_at: datetime
    closed_at: datetime | None
    # How it was found: "identifier" (her address as it is), "keyed_hash" (after an erasure),
    # "merchant" (it names the merchant).
    matched_by: str
    events: list[EventEntry]
    chain_intact: bool
    chain_problem: str


@dataclass
class KeptEntry:
    table: str
    rows: int
    rule: str | None
    rule_title: str
    legal_basis: str
    period: str


@dataclass
class RunEntry:
    id: int
    kind: str
    state: str
    dry_run: bool
    rule: str | None
    rule_title: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, dict[str, int]]
    kept: list[KeptEntry]
    stop_reason: str
    retry_of: int | None
    # The keyed hashes the run keeps (how a later question finds it); never the identifiers.
    subject_hashes: dict[str, str] = field(default_factory=dict)


@dataclass
class ConsentEntry:
    purpose: str
    action: str
    channel: str
    at: datetime
    policy_version: str | None
    merchant_id: int | None
    under_keyed_hash: bool


@dataclass
class ConsentTotal:
    purpose: str
    action: str
    count: int


@dataclass
class ErasureNotified:
    """The erasure notice to a recipient: its state (queued, sent, acknowledged, failed) and times.

    True only once the recipient was told (sent or acknowledged): a queued or failed notice is not.
    """

    reference: str
    state: str
    created_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None

    def __bool__(self) -> bool:
        return self.state in ("sent", "acknowledged")


@dataclass
class DisclosureEntry:
    recipient: str
    country: str
    categories: list[str]
    purpose: str
    outcome: str
    refusal: str
    at: datetime
    merchant_id: int | None
    # Whether the recipient was told of the subject's erasure: its latest erasure notice
    # (consent.ErasureNotice, matched by her keyed hashes), or None when it has none.
    erasure_notified: ErasureNotified | None = None


@dataclass
class DisclosureTotal:
    recipient: str
    country: str
    purpose: str
    outcome: str
    refusal: str
    count: int
    first_at: datetime
    last_at: datetime


@dataclass
class MerchantStatus:
    merchant_id: int
    exists: bool
    # The row stays as a tombstone after a purge: its identifiers are keyed hashes.
    tombstone: bool = False
    churned_at: datetime | None = None
    schedule_state: str | None = None
    due_at: datetime | None = None
    purged_at: datetime | None = None
    rule: str | None = None
    rule_title: str = ""
    active_holds: list[str] = field(default_factory=list)


@dataclass
class Dossier:
    kind: str  # "subject" or "merchant"
    # The subject by the keyed hashes of her identifiers (never the identifiers themselves).
    subject_hashes: dict[str, str] = field(default_factory=dict)
    merchant: MerchantStatus | None = None
    holdings: Holdings = field(default_factory=Holdings)
    # Rows still kept under her keyed hashes (requests, consent, disclosures as proof).
    held_under_keyed_hash: Holdings = field(default_factory=Holdings)
    requests: list[RequestEntry] = field(default_factory=list)
    runs: list[RunEntry] = field(default_factory=list)
    consent: list[ConsentEntry] = field(default_factory=list)
    consent_totals: list[ConsentTotal] = field(default_factory=list)
    disclosures: list[DisclosureEntry] = field(default_factory=list)
    disclosure_totals: list[DisclosureTotal] = field(default_factory=list)

    @property
    def chains_intact(self) -> bool:
        return all(r.chain_intact for r in self.requests)

    @property
    def found(self) -> bool:
        return bool(
            self.holdings.total or self.held_under_keyed_hash.total or self.requests or self.runs or self.consent
            or self.consent_totals or self.disclosures or self.disclosure_totals
            or (self.merchant is not None and self.merchant.exists)
        )


# -- a data subject ---------------------------------------------------------------------------


def subject_dossier(*, email: str | None = None, phone: str | None = None) -> Dossier:
    """Everything held about one person and everything done with it, found by her identifiers
    or, where an erasure replaced them, by their keyed hashes."""
    email, phone = normalize_email(email), normalize_phone(phone)
    if not email and not phone:
        raise DossierError(_("Masukkan e-mail atau nomor telepon yang valid."))
    hashes = {k: pseudonym(v, kind=k) for k, v in (("email", email), ("phone", phone)) if v}
    dossier = Dossier(kind="subject", subject_hashes=hashes)
    dossier.holdings = _subject_holdings(email=email, phone=phone)
    dossier.held_under_keyed_hash = _held_under_hashes(hashes)

    plain, hashed = _identifier_q(email=email, phone=phone), _identifier_q(
        email=hashes.get("email"), phone=hashes.get("phone")
    )
    dossier.requests = _requests(
        DataSubjectRequest.objects.filter(plain | hashed),
        matched_by=lambda r: "keyed_hash" if is_pseudonym(r.email) or is_pseudonym(r.phone) else "identifier",
    )
    # Her erasures (subject_hashes "email"/"phone"), and the purge of a merchant she owned (the
    # purge keeps the owner's as "owner_email"/"owner_phone").
    run_q = Q(pk__in=[])
    for kind, value in hashes.items():
        run_q |= Q(**{f"subject_hashes__{kind}": value}) | Q(**{f"subject_hashes__owner_{kind}": value})
    dossier.runs = _runs(ErasureRun.objects.filter(run_q))
    dossier.consent = [
        ConsentEntry(
            purpose=event.purpose.key, action=event.action, channel=event.channel, at=event.occurred_at,
            policy_version=event.policy_version.version if event.policy_version else None,
            merchant_id=event.merchant_id, under_keyed_hash=is_pseudonym(event.email) or is_pseudonym(event.phone),
        )
        for event in ConsentEvent.objects.filter(plain | hashed)
        .select_related("purpose", "policy_version").order_by("occurred_at", "pk")
    ]
    disclosures = list(
        Disclosure.objects.filter(plain | hashed).select_related("recipient", "purpose").order_by("occurred_at", "pk")
    )
    notified = _erasure_notices(hashes) if disclosures else {}
    dossier.disclosures = [
        DisclosureEntry(
            recipient=d.recipient.name, country=d.recipient.country, categories=list(d.categories),
            purpose=d.purpose.key, outcome=d.outcome, refusal=d.refusal, at=d.occurred_at, merchant_id=d.merchant_id,
            erasure_notified=notified.get(d.recipient_id),
        )
        for d in disclosures
    ]
    return dossier


def _erasure_notices(hashes: dict[str, str]) -> dict[int, ErasureNotified]:
    """Her latest erasure notice per recipient, found by her keyed hashes (one query)."""
    found = Q(pk__in=[])
    if hashes.get("email"):
        found |= Q(email_hash=hashes["email"])
    if hashes.get("phone"):
        found |= Q(phone_hash=hashes["phone"])
    latest: dict[int, ErasureNotified] = {}
    for recipient_id, reference, state, created, sent, acknowledged in (
        ErasureNotice.objects.filter(found).order_by("created_at", "pk")
        .values_list("recipient_id", "reference", "state", "created_at", "sent_at", "acknowledged_at")
    ):
        latest[recipient_id] = ErasureNotified(reference, state, created, sent, acknowledged)
    return latest


def _identifier_q(*, email: str | None, phone: str | None) -> Q:
    """Rows of the request, consent and disclosure tables (each has `email` and `phone`) naming
    these identifiers exactly (normalised, or keyed hashes)."""
    condition = Q(pk__in=[])
    if email:
        condition |= Q(email=email)
    if phone:
        condition |= Q(phone=phone)
    return condition


def _subject_holdings(*, email: str | None, phone: str | None) -> Holdings:
    """What the data map finds for her now, summed over merchants (retention's own lookup)."""
    per_table: dict[str, TableCount] = {}
    for merchant in subject_records(email=email, phone=phone).merchants:
        for hit in merchant.tables:
            entry = datamap.maps[hit.label]
            known = per_table.get(hit.label)
            if known is None:
                per_table[hit.label] = TableCount(hit.label, entry.db_table, hit.name, hit.count, list(hit.categories))
            else:
                known.count += hit.count
    return Holdings(tables=sorted(per_table.values(), key=lambda t: t.label))


# Lookup columns whose erasure leaves a keyed hash of the identifier behind (the table's own
# UPDATE, or its owner's hook): only there can her hashes be found.
_HASHING = (FieldErasure.HASH, FieldErasure.HOOK)


def _hashes_kept(entry: ModelMap) -> bool:
    return any(p.find_by is not None and p.erase in _HASHING for p in entry.personal.values())


def _held_under_hashes(hashes: dict[str, str]) -> Holdings:
    tables = []
    for entry in sorted(datamap, key=lambda e: e.label):
        if not _hashes_kept(entry):
            continue
        condition = identifier_condition(entry, email=hashes.get("email"), phone=hashes.get("phone"))
        if not condition:
            continue
        n = entry.model._default_manager.filter(condition).count()
        if n:
            tables.append(_table_count(entry, n))
    return Holdings(tables=tables)


def _table_count(entry: ModelMap, n: int) -> TableCount:
    return TableCount(entry.label, entry.db_table, str(entry.model._meta.verbose_name_plural), n, entry.categories)


# -- a merchant -------------------------------------------------------------------------------


def merchant_dossier(*, merchant_id: int | None = None, tax_number: str | None = None) -> Dossier:
    """Everything held about one merchant and everything done with it, the tombstone of a purged
    merchant included (found by its id, or by its tax number as typed or as the keyed hash the
    purge left in the tombstone and its run)."""
    if merchant_id is None:
        merchant_id = _merchant_by_tax_number(tax_number)
    row = Merchant.objects.filter(pk=merchant_id).values("churned_at", "business_name", "owner_email").first()
    status = MerchantStatus(merchant_id=merchant_id, exists=row is not None)
    if row is not None:
        status.churned_at = row["churned_at"]
        status.tombstone = is_pseudonym(row["business_name"])
    schedule = PurgeSchedule.objects.filter(merchant_id=merchant_id).select_related("rule").first()
    if schedule is not None:
        status.schedule_state, status.due_at, status.purged_at = schedule.state, schedule.due_at, schedule.purged_at
        status.rule, status.rule_title = schedule.rule.key, schedule.rule.title
        status.churned_at = status.churned_at or schedule.churned_at
    if row is not None:
        status.active_holds = [
            f"#{pk} {reason}" for pk, reason in LegalHold.objects.filter(LegalHold.active_q(), merchant_id=merchant_id)
            .order_by("pk").values_list("pk", "reason")
        ]
    dossier = Dossier(kind="merchant", merchant=status)
    dossier.holdings = _merchant_holdings(merchant_id) if row is not None else Holdings()

    dossier.runs = _runs(ErasureRun.objects.filter(merchant_ref=merchant_id))
    # The owner's own requests: by the owner's address while it is live; after a purge by the
    # keyed hashes the tombstone and the purge's run keep (the same hashes an erasure of her
    # requests leaves in them).
    owner_email = row["owner_email"] if row else ""
    named = Q(merchant_id=merchant_id)
    if owner_email:
        named |= Q(email=owner_email if is_pseudonym(owner_email) else normalize_email(owner_email))
    owner_hashes: dict[str, str] = {}
    for run in dossier.runs:
        if run.kind == ErasureRun.Kind.MERCHANT_PURGE:
            owner_hashes.update({k: v for k, v in run.subject_hashes.items() if k in ("owner_email", "owner_phone")})
    if owner_hashes.get("owner_email"):
        named |= Q(email=owner_hashes["owner_email"])
    if owner_hashes.get("owner_phone"):
        named |= Q(phone=owner_hashes["owner_phone"])
    dossier.requests = _requests(
        DataSubjectRequest.objects.filter(named),
        matched_by=lambda r: "merchant" if r.merchant_id == merchant_id else (
            "keyed_hash" if is_pseudonym(r.email) or is_pseudonym(r.phone) else "identifier"
        ),
    )
    dossier.consent_totals = [
        ConsentTotal(purpose=key, action=action, count=n)
        for key, action, n in ConsentEvent.objects.filter(merchant_id=merchant_id)
        .values_list("purpose__key", "action").annotate(n=Count("pk")).order_by("purpose__number", "action")
    ]
    dossier.disclosure_totals = [
        DisclosureTotal(
            recipient=name, country=country, purpose=purpose, outcome=outcome, refusal=refusal, count=n,
            first_at=first, last_at=last,
        )
        for name, country, purpose, outcome, refusal, n, first, last in Disclosure.objects.filter(merchant_id=merchant_id)
        .values_list("recipient__name", "recipient__country", "purpose__key", "outcome", "refusal")
        .annotate(n=Count("pk"), first=Min("occurred_at"), last=Max("occurred_at"))
        .order_by("recipient__name", "purpose__key", "outcome", "refusal")
    ]
    return dossier


def _merchant_by_tax_number(tax_number: str | None) -> int:
    """The one merchant with this tax number, live or purged. A purge replaces it in the
    tombstone by its keyed hash (kind "text", as typed) and keeps the same hash in its run."""
    typed = " ".join((tax_number or "").split())
    if not typed:
        raise DossierError(_("Masukkan ID merchant atau NPWP."))
    hashed = pseudonym(typed, kind="text")
    found = set(Merchant.objects.filter(Q(tax_number=typed) | Q(tax_number=hashed)).values_list("pk", flat=True))
    found |= set(
        ErasureRun.objects.filter(subject_hashes__tax_number=hashed, merchant_ref__isnull=False)
        .values_list("merchant_ref", flat=True)
    )
    if not found:
        raise DossierError(_("Tidak ada merchant dengan NPWP ini, sekarang maupun yang sudah dihapus."))
    if len(found) > 1:
        raise DossierError(
            _("NPWP ini dipakai oleh beberapa merchant (%(ids)s): pilih satu dengan ID merchant.")
            % {"ids": ", ".join(str(pk) for pk in sorted(found))}
        )
    return found.pop()


def _merchant_holdings(merchant_id: int) -> Holdings:
    """Rows of every declared table of a merchant, through each table's own merchant path."""
    tables = []
    for entry in sorted(datamap, key=lambda e: e.label):
        if not entry.merchant:
            continue  # records of no merchant (the portal's requests) are the requesters', not the shop's
        n = entry.model._default_manager.filter(**{entry.merchant: merchant_id}).count()
        if n:
            tables.append(_table_count(entry, n))
    return Holdings(tables=tables)


# -- shared sections --------------------------------------------------------------------------


def _requests(queryset, *, matched_by) -> list[RequestEntry]:
    """Requests with every event and its actor (two queries), each chain checked in memory."""
    events = RequestEvent.objects.select_related("actor").order_by("seq")
    requests = queryset.select_related("api_client").prefetch_related(Prefetch("events", queryset=events))
    entries = []
    for request in requests.order_by("created_at", "pk"):
        chain = list(request.events.all())
        problem = chain_problem(request, chain)
        entries.append(RequestEntry(
            reference=request.reference, right=request.right, state=request.state, channel=request.channel,
            created_at=request.created_at, closed_at=request.closed_at, matched_by=matched_by(request),
            events=[
                EventEntry(
                    seq=e.seq, verb=e.verb, actor=_actor(e, request), at=e.created_at, from_state=e.from_state,
                    to_state=e.to_state,
                )
                for e in chain
            ],
            chain_intact=problem == "", chain_problem=problem,
        ))
    return entries


def _actor(event: RequestEvent, request: DataSubjectRequest) -> str:
    if event.actor is not None:
        return event.actor.get_username()
    if event.actor_kind == "requester" and request.api_client is not None:
        return f"api:{request.api_client.name}"  # a merchant's system forwarded the requester's steps
    return event.actor_kind or "system"


def chain_problem(request: DataSubjectRequest, events: list[RequestEvent]) -> str:
    """The first break in one request's hash chain, or "" if it verifies: each event's hash, its
    link to the one before, its note against the note's keyed hash, and the request's head.

    The same checks as requests_portal.audit.audit_verify for one request, on events already in
    memory; the global chain of anchors (the removal of a whole request) is `manage.py verify_audit`'s.
    """
    prev_hash = ""
    for expected, event in enumerate(events, start=1):
        where = f"#{event.seq}"
        if event.seq != expected:
            return f"{where}: event #{expected} is missing"
        if event.prev_hash != prev_hash:
            return f"{where}: does not follow the event before it"
        if event.note and text_digest(event.note) != event.note_digest:
            return f"{where}: its note was changed"
        if event.told and text_digest(event.told) != event.told_digest:
            return f"{where}: what the requester was told was changed"
        if hash_of(event) != event.hash:
            return f"{where}: its content does not match its hash (edited)"
        prev_hash = event.hash
    if request.event_count != len(events) or request.head_hash != prev_hash:
        return (
            f"the request's head says {request.event_count} event(s) but the chain has {len(events)}, "
            "or its last hash differs: events were removed or added"
        )
    return ""


def _tables_to_entries() -> dict[str, ModelMap]:
    """Declared tables (and their history copies) by database table, as a run's counts name them."""
    found = {}
    for entry in datamap:
        found[entry.db_table] = entry
        if entry.history_model is not None:
            found[entry.history_model._meta.db_table] = entry
    return found


def _runs(queryset) -> list[RunEntry]:
    """Runs with what each kept and under which rule: the rule its tables' data map entries name
    for the rows counted as anonymised (one query for the runs, one for the rules)."""
    runs = list(queryset.select_related("rule").order_by("created_at", "pk"))
    if not runs:
        return []
    by_table = _tables_to_entries()
    rules = {r.key: r for r in RetentionRule.objects.all()}
    entries = []
    for run in runs:
        kept = []
        for table, actions in sorted((run.counts or {}).items()):
            rows = actions.get(ANONYMISED, 0)
            if not rows:
                continue
            entry = by_table.get(table)
            key = entry.retained_under if entry else None
            rule = rules.get(key) if key else None
            kept.append(KeptEntry(
                table=table, rows=rows, rule=key, rule_title=rule.title if rule else "",
                legal_basis=rule.legal_basis if rule else "", period=rule.period_display if rule else "",
            ))
        entries.append(RunEntry(
            id=run.pk, kind=run.kind, state=run.state, dry_run=run.dry_run, rule=run.rule.key if run.rule else None,
            rule_title=run.rule.title if run.rule else "", created_at=run.created_at, started_at=run.started_at,
            finished_at=run.finished_at, counts=run.counts or {}, kept=kept, stop_reason=run.stop_reason,
            retry_of=run.retry_of_id, subject_hashes=dict(run.subject_hashes or {}),
        ))
    return entries


# -- as data (JSON) ---------------------------------------------------------------------------


def dossier_data(dossier: Dossier) -> dict:
    """The dossier as plain data with stable keys and ISO times in Asia/Jakarta (for JSON)."""
    data = _plain(asdict(dossier))
    for section in ("holdings", "held_under_keyed_hash"):
        holdings: Holdings = getattr(dossier, section)
        data[section]["total"] = holdings.total
        data[section]["by_category"] = holdings.by_category
    data["chains_intact"] = dossier.chains_intact
    data["found"] = dossier.found
    return data


def _plain(value):
    if isinstance(value, datetime):
        return timezone.localtime(value, JAKARTA).isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Promise):
        return str(value)
    return value
