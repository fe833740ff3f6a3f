"""The one way into the consent ledger, and the state kept beside it (see consent/models.py).

`consent_record` appends one event and folds it into the state row of each identifier it names,
in one transaction, under the state row's lock. Folding keeps, per state row, the latest event by
the time it happened (`occurred_at`, then id): an order-free rule, so the state is the same
whatever order the events arrive in, and equal to a replay of the ledger (`replay`, which the
rebuild and the property tests use).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.identifiers import normalize_email, normalize_phone
from merchants.models import Merchant
from retention.services.common import require_permission

from ..exceptions import ConsentError
from ..models import Action, Channel, ConsentEvent, ConsentState, LegalBasis, PolicyVersion, Purpose
from ..selectors import policy_current, purpose_get

# A till's clock may run a little ahead of ours; beyond this an event "in the future" is refused.
CLOCK_SKEW = timedelta(minutes=5)
# Identifiers per chunk of the rebuild (each chunk: one query for the events, one for the states).
REBUILD_CHUNK = 1000

CONSENT_ACTIONS = (Action.GIVEN, Action.WITHDRAWN)


@dataclass(frozen=True)
class SubjectRef:
    """A data subject as the ledger knows her: normalised identifiers, within a merchant or not."""

    email: str | None = None
    phone: str | None = None
    merchant_id: int | None = None

    @property
    def identifiers(self) -> list[str]:
        return [value for value in (self.email, self.phone) if value]


def subject_ref(*, email: str | None = None, phone: str | None = None, merchant_id: int | None = None) -> SubjectRef:
    """Normalise what a form or a caller gave; a given but unreadable identifier is refused."""
    email_n = normalize_email(email) if email else None
    phone_n = normalize_phone(phone) if phone else None
    if email and not email_n:
        raise ConsentError(_("Alamat e-mail tidak valid."), code="invalid_email", field="email")
    if phone and not phone_n:
        raise ConsentError(_("Nomor telepon tidak valid."), code="invalid_phone", field="phone")
    if not (email_n or phone_n):
        raise ConsentError(_("Sebutkan e-mail atau nomor telepon subjek data."), code="no_subject", field="email")
    return SubjectRef(email=email_n, phone=phone_n, merchant_id=merchant_id)


def consent_record(
    *,
    subject: SubjectRef,
    purpose: Purpose | str,
    action: str,
    channel: str,
    occurred_at: datetime | None = None,
    policy_version: PolicyVersion | str | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
    text_shown: str = "",
    actor=None,
    client=None,
    reference: str = "",
) -> ConsentEvent:
    """Append one event to the ledger and bring the subject's state up to date with it."""
    if channel == Channel.ADMIN:
        require_permission(actor, "consent.add_consentevent", what=_("mencatat persetujuan"), system_allowed=False)
    event = consent_validate(
        subject=subject, purpose=purpose, action=action, channel=channel, occurred_at=occurred_at,
        policy_version=policy_version, ip_address=ip_address, user_agent=user_agent, text_shown=text_shown,
        actor=actor, client=client, reference=reference,
    )
    with transaction.atomic():
        event.save()
        for identifier in event.identifiers:
            _fold_into_state(event, identifier)
    return event


def consent_validate(
    *, subject: SubjectRef, purpose, action, channel, occurred_at=None, policy_version=None, ip_address=None,
    user_agent="", text_shown="", actor=None, client=None, reference="",
) -> ConsentEvent:
    """The event `consent_record` would append, checked; raises ConsentError and writes nothing."""
    if not subject.identifiers:
        raise ConsentError(_("Sebutkan e-mail atau nomor telepon subjek data."), code="no_subject", field="email")
    purpose = purpose_get(purpose) if isinstance(purpose, str) else purpose
    if action not in Action.values:
        raise ConsentError(_("Tindakan persetujuan tidak dikenal."), code="invalid_action", field="action")
    if channel not in Channel.values:
        raise ConsentError(_("Saluran tidak dikenal."), code="invalid_channel", field="channel")
    # "given" on a legitimate interest lifts her objection (decide() then allows it again); on a
    # contract or a legal obligation there is nothing to give.
    if action == Action.GIVEN and purpose.basis not in (LegalBasis.CONSENT, LegalBasis.LEGITIMATE_INTEREST):
        raise ConsentError(
            _("Tujuan “%(purpose)s” tidak berdasarkan persetujuan: tidak ada persetujuan yang perlu dicatat.")
            % {"purpose": purpose.name_id}, code="basis_not_consent", field="purpose",
        )
    if action == Action.WITHDRAWN and purpose.basis in (LegalBasis.CONTRACT, LegalBasis.LEGAL_OBLIGATION):
        raise ConsentError(
            _("Tujuan “%(purpose)s” berdasarkan perjanjian atau kewajiban hukum: tidak dapat ditarik, "
              "tetapi dapat dibatasi.") % {"purpose": purpose.name_id},
            code="basis_not_withdrawable", field="purpose",
        )
    now = timezone.now()
    occurred_at = occurred_at or now
    if timezone.is_naive(occurred_at):
        raise ConsentError(_("Waktu kejadian harus menyebut zona waktunya."), code="naive_time", field="occurred_at")
    if occurred_at > now + CLOCK_SKEW:
        raise ConsentError(_("Waktu kejadian tidak boleh di masa depan."), code="future_time", field="occurred_at")
    if isinstance(policy_version, str):
        policy_version = PolicyVersion.objects.filter(version=policy_version, published_at__isnull=False).first()
        if policy_version is None:
            raise ConsentError(_("Versi kebijakan tidak dikenal."), code="unknown_policy_version", field="policy_version")
    elif policy_version is None:
        policy_version = policy_current(at=occurred_at)
    elif not policy_version.is_published:
        raise ConsentError(_("Versi kebijakan ini belum diterbitkan."), code="unknown_policy_version", field="policy_version")
    if subject.merchant_id is not None and not Merchant.objects.filter(pk=subject.merchant_id).exists():
        raise ConsentError(_("Merchant tidak dikenal."), code="unknown_merchant", field="merchant_id")
    return ConsentEvent(
        merchant_id=subject.merchant_id, email=subject.email or "", phone=subject.phone or "", purpose=purpose,
        action=action, policy_version=policy_version, channel=channel, occurred_at=occurred_at,
        ip_address=ip_address or None, user_agent=(user_agent or "")[:400], text_shown=text_shown or "",
        entered_by=actor, client=client, reference=(reference or "")[:64],
    )


# -- the state ------------------------------------------------------------------------------


def _newer(occurred_at: datetime, event_id: int, than_at: datetime | None, than_id: int | None) -> bool:
    return than_at is None or (occurred_at, event_id) > (than_at, than_id or 0)


def fold(state, *, action: str, occurred_at: datetime, event_id: int) -> bool:
    """Fold one event into a state (a ConsentState or a replay's row); True if it changed it."""
    if action in CONSENT_ACTIONS:
        if not _newer(occurred_at, event_id, state.consent_at, state.consent_event_id):
            return False
        state.consented = action == Action.GIVEN
        state.consent_event_id, state.consent_at = event_id, occurred_at
        return True
    if not _newer(occurred_at, event_id, state.restriction_at, state.restriction_event_id):
        return False
    state.restricted = action == Action.RESTRICTED
    state.restriction_event_id, state.restriction_at = event_id, occurred_at
    return True


def _fold_into_state(event: ConsentEvent, identifier: str) -> None:
    scope = Q(identifier=identifier, purpose_id=event.purpose_id) & (
        Q(merchant_id=event.merchant_id) if event.merchant_id is not None else Q(merchant__isnull=True)
    )
    state = ConsentState.objects.select_for_update().filter(scope).first()
    if state is None:
        state = ConsentState(identifier=identifier, merchant_id=event.merchant_id, purpose_id=event.purpose_id)
        fold(state, action=event.action, occurred_at=event.occurred_at, event_id=event.pk)
        try:
            with transaction.atomic():
                state.save()
            return
        except IntegrityError:  # another transaction created it first: fold into theirs
            state = ConsentState.objects.select_for_update().get(scope)
    if fold(state, action=event.action, occurred_at=event.occurred_at, event_id=event.pk):
        state.save()


@dataclass
class ReplayedState:
    consented: bool | None = None
    consent_event_id: int | None = None
    consent_at: datetime | None = None
    restricted: bool = False
    restriction_event_id: int | None = None
    restriction_at: datetime | None = None

    def values(self) -> tuple:
        return (self.consented, self.consent_event_id, self.restricted, self.restriction_event_id)


StateKey = tuple[str, int | None, int]  # identifier, merchant id, purpose id


def replay(events: Iterable) -> dict[StateKey, ReplayedState]:
    """The state the ledger implies, from its events (rows with the ConsentEvent fields), in any order."""
    found: dict[StateKey, ReplayedState] = {}
    for e in events:
        for identifier in (e.email, e.phone):
            if identifier:
                state = found.setdefault((identifier, e.merchant_id, e.purpose_id), ReplayedState())
                fold(state, action=e.action, occurred_at=e.occurred_at, event_id=e.id)
    return found


def state_values(state: ConsentState) -> tuple:
    return (state.consented, state.consent_event_id, state.restricted, state.restriction_event_id)


@dataclass
class RebuildReport:
    identifiers: int = 0
    missing: int = 0  # the ledger implies a state row the table lacks
    different: int = 0  # the row says something else than the ledger
    extra: int = 0  # a state row no event supports
    examples: list[str] = field(default_factory=list)
    fixed: bool = False

    @property
    def clean(self) -> bool:
        return not (self.missing or self.different or self.extra)

    def note(self, what: str, key: StateKey) -> None:
        if len(self.examples) < 20:
            self.examples.append(f"{what}: identifier #{hash(key[0]) & 0xFFFF:04x} merchant={key[1]} purpose={key[2]}")


def consent_state_rebuild(
    *, fix: bool = False, chunk: int = REBUILD_CHUNK, progress: Callable[[int], None] | None = None,
    identifiers: Iterable[str] | None = None,
) -> RebuildReport:
    """Replay the ledger and compare it with the state table, chunk by chunk of identifiers
    (memory flat); with `fix`, make the table what the ledger says, each chunk its own transaction.

    `identifiers`: only these (the erasure hook rebuilds the rows it rekeyed); otherwise every one,
    walked in key order from the ledger's e-mail and phone columns, then the state rows that no
    event supports. Identifiers never appear in the report, only a short hash of them.
    """
    report = RebuildReport(fixed=fix)
    if identifiers is not None:
        wanted = sorted(set(identifiers))
        for start in range(0, len(wanted), chunk):
            _rebuild_chunk(wanted[start:start + chunk], report, fix=fix)
        return report
    for column in ("email", "phone"):
        last = ""
        while True:
            ids = list(
                ConsentEvent.objects.filter(**{f"{column}__gt": last}).order_by(column)
                .values_list(column, flat=True).distinct()[:chunk]
            )
            if not ids:
                break
            _rebuild_chunk(ids, report, fix=fix)
            last = ids[-1]
            if progress:
                progress(len(ids))
    supported = ConsentEvent.objects.filter(Q(email=OuterRef("identifier")) | Q(phone=OuterRef("identifier")))
    orphans = ConsentState.objects.exclude(Exists(supported))
    for key in orphans.values_list("identifier", "merchant_id", "purpose_id")[:20]:
        report.note("extra", key)
    report.extra += orphans.count()
    if fix and report.extra:
        orphans.delete()
    return report


def _rebuild_chunk(ids: list[str], report: RebuildReport, *, fix: bool) -> None:
    report.identifiers += len(ids)
    fields = ("id", "email", "phone", "merchant_id", "purpose_id", "action", "occurred_at")
    events = ConsentEvent.objects.filter(Q(email__in=ids) | Q(phone__in=ids)).only(*fields).order_by()
    wanted = {key: state for key, state in replay(events).items() if key[0] in set(ids)}
    with transaction.atomic():
        held = {
            (s.identifier, s.merchant_id, s.purpose_id): s
            for s in ConsentState.objects.select_for_update().filter(identifier__in=ids)
        }
        create, update = [], []
        for key, state in wanted.items():
            row = held.pop(key, None)
            if row is None:
                report.missing += 1
                report.note("missing", key)
                create.append(ConsentState(identifier=key[0], merchant_id=key[1], purpose_id=key[2], **_fields(state)))
            elif state_values(row) != state.values():
                report.different += 1
                report.note("different", key)
                for name, value in _fields(state).items():
                    setattr(row, name, value)
                update.append(row)
        for key in held:
            report.extra += 1
            report.note("extra", key)
        if fix:
            ConsentState.objects.bulk_create(create)
            ConsentState.objects.bulk_update(update, list(_fields(ReplayedState())))
            if held:
                ConsentState.objects.filter(pk__in=[s.pk for s in held.values()]).delete()


def _fields(state: ReplayedState) -> dict:
    return {
        "consented": state.consented, "consent_event_id": state.consent_event_id, "consent_at": state.consent_at,
        "restricted": state.restricted, "restriction_event_id": state.restriction_event_id,
        "restriction_at": state.restriction_at,
    }
