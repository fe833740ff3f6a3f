"""The state beside the ledger equals a replay of the ledger, and an independent oracle, under any
sequence of events: subjects with e-mail and/or phone, within a merchant or not, several purposes,
every action each purpose's basis allows, times with ties and out of order, arriving shuffled."""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.models import Action, ConsentEvent, ConsentState, LegalBasis
from consent.selectors import Reason, consent_check, consent_check_many, CheckItem, purpose_get
from consent.services import consent_record, consent_state_rebuild, subject_ref
from consent.services.ledger import replay

pytestmark = pytest.mark.django_db

PURPOSES = ["marketing", "research", "transactions", "kyc"]
ACTIONS = {
    LegalBasis.CONSENT: ["given", "withdrawn", "restricted", "unrestricted"],
    LegalBasis.LEGITIMATE_INTEREST: ["withdrawn", "restricted", "unrestricted"],
    LegalBasis.CONTRACT: ["restricted", "unrestricted"],
    LegalBasis.LEGAL_OBLIGATION: ["restricted", "unrestricted"],
}
# Three people: e-mail only, phone only, both (sharing the first one's e-mail: one identifier, two ways in).
SUBJECTS = [
    {"email": "ani@contoh.co.id"},
    {"phone": "081211110000"},
    {"email": "ani@contoh.co.id", "phone": "081222220000"},
    {"email": "budi@contoh.co.id", "phone": "081211110000"},
]
BASE = datetime(2025, 6, 1, 9, 0, tzinfo=dt_timezone.utc)

events = st.lists(
    st.tuples(
        st.integers(0, len(SUBJECTS) - 1),
        st.sampled_from([None, 0, 1]),  # no merchant, or one of two shops
        st.sampled_from(PURPOSES),
        st.integers(0, 3),  # which of the basis's actions
        st.integers(0, 6),  # minutes after BASE: few values, so ties are common
    ),
    min_size=1, max_size=14,
).flatmap(lambda items: st.permutations(items))  # arrival order shuffled


def _oracle(rows):
    """Per identifier, merchant and purpose: the latest event by (occurred_at, id), consent and
    restriction separately. Written from the definition, not from consent.services."""
    consent, restriction = {}, {}
    for e in rows:
        for identifier in filter(None, (e.email, e.phone)):
            key = (identifier, e.merchant_id, e.purpose_id)
            table = consent if e.action in ("given", "withdrawn") else restriction
            if key not in table or (e.occurred_at, e.id) > table[key][:2]:
                table[key] = (e.occurred_at, e.id, e.action)
    state = {}
    for key in set(consent) | set(restriction):
        c, r = consent.get(key), restriction.get(key)
        state[key] = (
            None if c is None else c[2] == "given", c[1] if c else None,
            r is not None and r[2] == "restricted", r[1] if r else None,
        )
    return state


def _oracle_decision(purpose, identifiers, merchant_id, rows):
    """What the check must answer: across her identifiers and her choices made to JUNOPOS and to
    this merchant, the latest restriction event and the latest consent event decide."""
    relevant = [
        e for e in rows
        if e.purpose_id == purpose.pk and (e.merchant_id is None or e.merchant_id == merchant_id)
        and ({e.email, e.phone} & set(identifiers))
    ]
    restrictions = [e for e in relevant if e.action in ("restricted", "unrestricted")]
    consents = [e for e in relevant if e.action in ("given", "withdrawn")]
    latest = lambda found: max(found, key=lambda e: (e.occurred_at, e.id), default=None)  # noqa: E731
    r, c = latest(restrictions), latest(consents)
    if purpose.basis != LegalBasis.LEGAL_OBLIGATION and r is not None and r.action == "restricted":
        return False, Reason.RESTRICTED
    if purpose.basis == LegalBasis.CONSENT:
        if c is None:
            return False, Reason.NO_CONSENT
        return (True, Reason.CONSENT_GIVEN) if c.action == "given" else (False, Reason.CONSENT_WITHDRAWN)
    if purpose.basis == LegalBasis.LEGITIMATE_INTEREST:
        return (False, Reason.OBJECTED) if c is not None else (True, Reason.NOT_OBJECTED)
    return True, Reason.BASIS


@pytest.fixture
def shops(shop, other_shop):
    return [shop.pk, other_shop.pk]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=events)
def test_state_equals_replay_and_oracle_under_any_sequence(shops, sequence):
    with transaction.atomic():
        for subject_i, shop_i, key, action_i, minutes in sequence:
            purpose = purpose_get(key)
            choices = ACTIONS[purpose.basis]
            consent_record(
                subject=subject_ref(**SUBJECTS[subject_i], merchant_id=None if shop_i is None else shops[shop_i]),
                purpose=purpose, action=choices[action_i % len(choices)], channel="till",
                occurred_at=BASE + timedelta(minutes=minutes),
            )
        rows = list(ConsentEvent.objects.all())
        assert len(rows) == len(sequence)
        table = {
            (s.identifier, s.merchant_id, s.purpose_id): (s.consented, s.consent_event_id, s.restricted, s.restriction_event_id)
            for s in ConsentState.objects.all()
        }
        replayed = {key: state.values() for key, state in replay(rows).items()}
        assert table == replayed == _oracle(rows)
        assert consent_state_rebuild().clean

        items, expected = [], []
        for subject in SUBJECTS:
            identifiers = subject_ref(**subject).identifiers
            for merchant_id in (None, *shops):
                for key in PURPOSES:
                    purpose = purpose_get(key)
                    decision = consent_check(identifiers=identifiers, merchant_id=merchant_id, purpose=purpose)
                    want = _oracle_decision(purpose, identifiers, merchant_id, rows)
                    assert (decision.allowed, decision.reason) == want, (subject, merchant_id, key)
                    items.append(CheckItem(tuple(identifiers), merchant_id, purpose))
                    expected.append(want)
        assert [(d.allowed, d.reason) for d in consent_check_many(items)] == expected
        transaction.set_rollback(True)  # inserts undone without a DELETE: the ledger's trigger is not involved
    assert not ConsentEvent.objects.exists()
