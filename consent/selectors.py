"""Reads in consent: the purposes, the current policy, and the answer to "may we?".

The consent check is one indexed query on the state table (identifier, purpose), whatever the
size of the ledger; a batch of checks is one query for all of them. Purposes change rarely
(a data migration, an officer's edit with history): each process keeps them for
PURPOSE_CACHE_SECONDS.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .exceptions import ConsentError
from .models import ConsentState, LegalBasis, PolicyVersion, Purpose

PURPOSE_CACHE_SECONDS = 60

_purposes: dict[str, Purpose] = {}
_purposes_at = 0.0


def purposes_by_key() -> dict[str, Purpose]:
    global _purposes, _purposes_at
    if not _purposes or time.monotonic() - _purposes_at > PURPOSE_CACHE_SECONDS:
        _purposes = {p.key: p for p in Purpose.objects.order_by("number")}
        _purposes_at = time.monotonic()
    return _purposes


def purposes_forget() -> None:
    """After an edit of the purposes (admin, tests): the next read loads them again."""
    global _purposes
    _purposes = {}


def purpose_get(key: str) -> Purpose:
    purpose = purposes_by_key().get(key)
    if purpose is None:
        raise ConsentError(_("Tujuan pemrosesan “%(key)s” tidak dikenal.") % {"key": key}, code="unknown_purpose", field="purpose")
    return purpose


def policy_current(*, at: datetime | None = None) -> PolicyVersion | None:
    """The published version in force at `at` (now by default)."""
    at = at or timezone.now()
    return (
        PolicyVersion.objects.filter(published_at__isnull=False, effective_at__lte=at)
        .order_by("-effective_at", "-id").first()
    )


def policy_versions_published():
    return PolicyVersion.objects.filter(published_at__isnull=False).order_by("-effective_at", "-id")


class Reason:
    """Why a check answered as it did: stable codes for machines (the API), explained for people."""

    BASIS = "basis"  # contract or legal obligation: no consent is needed
    CONSENT_GIVEN = "consent_given"
    NO_CONSENT = "no_consent"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    NOT_OBJECTED = "not_objected"  # legitimate interest, no objection
    OBJECTED = "objected"
    RESTRICTED = "restricted"


@dataclass(frozen=True)
class Decision:
    purpose: str
    basis: str
    allowed: bool
    reason: str
    # The event that decided, if any (its id: the evidence an auditor asks for).
    event_id: int | None = None
    decided_at: datetime | None = None


STATE_FIELDS = (
    "identifier", "merchant_id", "purpose_id", "consented", "consent_event_id", "consent_at", "restricted",
    "restriction_event_id", "restriction_at",
)


def decide(purpose: Purpose, states: Sequence[tuple], *, restrictions: bool = True) -> Decision:
    """The answer for one purpose from the subject's state rows (tuples of STATE_FIELDS), which
    may come from several identifiers, and from her choices made to JUNOPOS itself (no merchant)
    as well as to the merchant: the latest choice wins, and a restriction anywhere holds.
    `restrictions=False`: what her consent or objection alone says (the preference centre shows
    her own choice beside a restriction she asked for)."""
    basis = purpose.basis
    if restrictions and basis != LegalBasis.LEGAL_OBLIGATION:
        latest_restriction = max(
            (s for s in states if s[8] is not None), key=lambda s: (s[8], s[7]), default=None
        )
        if latest_restriction is not None and latest_restriction[6]:
            return Decision(purpose.key, basis, False, Reason.RESTRICTED, latest_restriction[7], latest_restriction[8])
    latest = max((s for s in states if s[5] is not None), key=lambda s: (s[5], s[4]), default=None)
    consented = latest[3] if latest is not None else None
    event_id, at = (latest[4], latest[5]) if latest is not None else (None, None)
    if basis == LegalBasis.CONSENT:
        if consented:
            return Decision(purpose.key, basis, True, Reason.CONSENT_GIVEN, event_id, at)
        reason = Reason.CONSENT_WITHDRAWN if consented is False else Reason.NO_CONSENT
        return Decision(purpose.key, basis, False, reason, event_id, at)
    if basis == LegalBasis.LEGITIMATE_INTEREST:
        if consented is False:
            return Decision(purpose.key, basis, False, Reason.OBJECTED, event_id, at)
        return Decision(purpose.key, basis, True, Reason.NOT_OBJECTED, event_id, at)
    return Decision(purpose.key, basis, True, Reason.BASIS)


def subject_states(*, identifiers: Sequence[str], merchant_id: int | None, purposes: Sequence[Purpose]) -> dict[int, list[tuple]]:
    """One subject's state rows (tuples of STATE_FIELDS) for these purposes, by purpose id, in one
    query: those of the merchant and those of JUNOPOS itself, as `decide` weighs them."""
    found: dict[int, list[tuple]] = {p.pk: [] for p in purposes}
    rows = (
        ConsentState.objects.filter(identifier__in=list(identifiers), purpose_id__in=list(found))
        .filter(_merchant_q({merchant_id})).values_list(*STATE_FIELDS)
    )
    for row in rows:
        if row[1] is None or row[1] == merchant_id:
            found[row[2]].append(row)
    return found


def _merchant_q(merchant_ids: set[int | None]) -> Q:
    q = Q(merchant__isnull=True)
    ids = {m for m in merchant_ids if m is not None}
    return q | Q(merchant_id__in=ids) if ids else q


def _state_sql(*, with_merchant: bool) -> str:
    merchant = "(merchant_id IS NULL OR merchant_id = %s)" if with_merchant else "merchant_id IS NULL"
    return (
        f"SELECT {', '.join(STATE_FIELDS)} FROM {ConsentState._meta.db_table} "
        f"WHERE identifier = ANY(%s) AND purpose_id = %s AND {merchant}"
    )


_STATE_SQL = {}


def consent_check(*, identifiers: Sequence[str], merchant_id: int | None, purpose: Purpose) -> Decision:
    """May we use this person's data for this purpose? One indexed query (an index scan of
    one_state_per_subject_purpose). The API's hot path: on PostgreSQL the query is written out,
    as building it through the ORM cost more than running it."""
    if connection.vendor == "postgresql":
        key = merchant_id is not None
        sql = _STATE_SQL.get(key) or _STATE_SQL.setdefault(key, _state_sql(with_merchant=key))
        params = [list(identifiers), purpose.pk] + ([merchant_id] if key else [])
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    else:
        rows = list(
            ConsentState.objects.filter(identifier__in=list(identifiers), purpose_id=purpose.pk)
            .filter(_merchant_q({merchant_id})).values_list(*STATE_FIELDS)
        )
    return decide(purpose, [r for r in rows if r[1] is None or r[1] == merchant_id])


@dataclass(frozen=True)
class CheckItem:
    identifiers: tuple[str, ...]
    merchant_id: int | None
    purpose: Purpose


def consent_check_many(items: Sequence[CheckItem]) -> list[Decision]:
    """Many checks (a batch of the API, up to a thousand) in one query."""
    if not items:
        return []
    identifiers = sorted({i for item in items for i in item.identifiers})
    purpose_ids = sorted({item.purpose.pk for item in items})
    merchant_ids = sorted({item.merchant_id for item in items if item.merchant_id is not None})
    by_identifier: dict[str, list[tuple]] = {}
    if connection.vendor == "postgresql":
        # Three array parameters, not thousands of placeholders for the client to quote and bind.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(STATE_FIELDS)} FROM {ConsentState._meta.db_table} "
                "WHERE identifier = ANY(%s) AND purpose_id = ANY(%s) AND (merchant_id IS NULL OR merchant_id = ANY(%s))",
                [identifiers, purpose_ids, merchant_ids],
            )
            rows = cursor.fetchall()
    else:
        rows = (
            ConsentState.objects.filter(identifier__in=identifiers, purpose_id__in=purpose_ids)
            .filter(_merchant_q(set(merchant_ids))).values_list(*STATE_FIELDS)
        )
    for row in rows:
        by_identifier.setdefault(row[0], []).append(row)
    decisions = []
    for item in items:
        states = [
            r for i in item.identifiers for r in by_identifier.get(i, ())
            if r[2] == item.purpose.pk and (r[1] is None or r[1] == item.merchant_id)
        ]
        decisions.append(decide(item.purpose, states))
    return decisions
