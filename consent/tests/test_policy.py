"""Policy versions: publishing fixes the texts by their hash, every active merchant is told once,
and each merchant's acceptance is recorded once."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from consent.exceptions import ConsentError
from consent.models import PolicyAcceptance, PolicyNotice, PolicyNoticeDelivery, PolicyVersion, content_hash
from consent.selectors import policy_current
from consent.services import policy_accept, policy_notice_run, policy_publish
from merchants.tests.factories import MerchantFactory
from messaging.models import OutboundMessage
from retention.exceptions import NotPermitted

pytestmark = pytest.mark.django_db


def _officer(username, group):
    user = User.objects.create_user(username, password="x" * 12, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def publisher():
    user = _officer("dpo", "Data protection officer")
    assert user.has_perm("consent.publish_policyversion")
    return user


@pytest.fixture
def draft():
    return PolicyVersion.objects.create(
        version="2026.1", text_id="Kebijakan baru.\r\nPasal 1.", text_en="New policy.\nArticle 1.",
        summary_id="Tujuan baru", summary_en="A new purpose", effective_at=timezone.now() + timedelta(days=30),
    )


def test_the_seeded_version_is_current_and_its_hash_matches():
    current = policy_current()
    assert current.version == "2023.1" and current.is_published
    assert current.hash_matches()
    assert current.content_hash == content_hash(current.text_id, current.text_en)
    assert "JUNOPOS" in current.text_id


def test_publish_fixes_the_hash_and_only_once(draft, publisher):
    published = policy_publish(version_id=draft.pk, actor=publisher)
    stored = PolicyVersion.objects.get(pk=draft.pk)
    assert stored.content_hash == content_hash("Kebijakan baru.\nPasal 1.", "New policy.\nArticle 1.")
    assert stored.hash_matches() and stored.published_by == publisher and stored.published_at is not None
    assert stored.effective_at == draft.effective_at  # in the future: stays
    assert published.notice.state == PolicyNotice.State.PENDING
    with pytest.raises(ConsentError) as raised:
        policy_publish(version_id=draft.pk, actor=publisher)
    assert raised.value.code == "published"
    assert PolicyNotice.objects.filter(version=draft).count() == 1
    # A text changed behind the service's back is caught by the hash.
    PolicyVersion.objects.filter(pk=draft.pk).update(text_id="Kebijakan yang diubah diam-diam.")
    assert not PolicyVersion.objects.get(pk=draft.pk).hash_matches()


def test_publish_needs_the_permission(draft):
    officer = _officer("officer", "Compliance officer")
    assert not officer.has_perm("consent.publish_policyversion")
    with pytest.raises(NotPermitted):
        policy_publish(version_id=draft.pk, actor=officer)
    assert PolicyVersion.objects.get(pk=draft.pk).published_at is None
    assert not PolicyNotice.objects.exists()


def test_an_empty_text_cannot_be_published(publisher):
    draft = PolicyVersion.objects.create(version="2026.2", text_id="Ada.", text_en="  ", effective_at=timezone.now())
    with pytest.raises(ConsentError) as raised:
        policy_publish(version_id=draft.pk, actor=publisher)
    assert raised.value.code == "text_missing"


@pytest.fixture
def merchants():
    return {
        "id": MerchantFactory.create_batch(3, preferred_language="id"),
        "en": MerchantFactory.create_batch(2, preferred_language="en"),
        "churned": MerchantFactory.create_batch(2, churned_at=timezone.now() - timedelta(days=3)),
        "silent": MerchantFactory.create_batch(2, owner_email=""),
    }


def test_the_notice_tells_each_active_merchant_once_in_its_language(draft, publisher, merchants):
    notice = policy_publish(version_id=draft.pk, actor=publisher).notice
    assert policy_notice_run(notice_id=notice.pk, batch_size=2) == "completed"

    messages = OutboundMessage.objects.filter(kind="policy_notice")
    told = {m.merchant_id: m for m in messages}
    assert messages.count() == len(told) == 5
    for language in ("id", "en"):
        for merchant in merchants[language]:
            message = told[merchant.pk]
            assert (message.to_email, message.language) == (merchant.owner_email, language)
            assert "2026.1" in message.subject
    assert not set(told) & {m.pk for m in merchants["churned"] + merchants["silent"]}

    notice.refresh_from_db()
    assert notice.state == PolicyNotice.State.COMPLETED
    assert (notice.merchants_total, notice.merchants_done, notice.merchants_skipped) == (7, 5, 2)
    assert PolicyNoticeDelivery.objects.filter(notice=notice).count() == 7  # the skipped ones too: never again

    assert policy_notice_run(notice_id=notice.pk) == "held"  # completed: nothing to claim
    assert messages.count() == 5 and PolicyNoticeDelivery.objects.count() == 7
    notice.refresh_from_db()
    assert (notice.merchants_done, notice.merchants_skipped) == (5, 2)


def test_a_run_that_does_not_hold_the_claim_writes_nothing(draft, publisher, merchants):
    notice = policy_publish(version_id=draft.pk, actor=publisher).notice
    PolicyNotice.objects.filter(pk=notice.pk).update(
        state=PolicyNotice.State.RUNNING, claimed_by="another-worker", lease_until=timezone.now() + timedelta(minutes=4),
    )
    assert policy_notice_run(notice_id=notice.pk) == "held"
    assert not OutboundMessage.objects.filter(kind="policy_notice").exists()
    assert not PolicyNoticeDelivery.objects.exists()
    # Its lease runs out: the next run takes over and finishes, once.
    PolicyNotice.objects.filter(pk=notice.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert policy_notice_run(notice_id=notice.pk, batch_size=3) == "completed"
    assert OutboundMessage.objects.filter(kind="policy_notice").count() == 5


def test_a_run_out_of_time_gives_its_claim_back_and_a_delivery_is_never_repeated(draft, publisher, merchants):
    notice = policy_publish(version_id=draft.pk, actor=publisher).notice
    assert policy_notice_run(notice_id=notice.pk, budget=0) == "again"
    notice.refresh_from_db()
    assert (notice.claimed_by, notice.lease_until, notice.merchants_done) == ("", None, 0)
    # A merchant already told (a batch committed before a kill) is not told again.
    first = merchants["id"][0]
    PolicyNoticeDelivery.objects.create(notice=notice, merchant=first)
    assert policy_notice_run(notice_id=notice.pk) == "completed"
    assert not OutboundMessage.objects.filter(kind="policy_notice", merchant=first).exists()
    assert OutboundMessage.objects.filter(kind="policy_notice").count() == 4


def test_acceptance_is_recorded_once(shop):
    version = policy_current()
    first, created = policy_accept(merchant_id=shop.pk, version="2023.1")
    assert created and first.version == version
    again, created_again = policy_accept(merchant_id=shop.pk, version=version, accepted_at=timezone.now())
    assert (again.pk, created_again) == (first.pk, False)
    assert PolicyAcceptance.objects.filter(merchant=shop).count() == 1


def test_acceptance_refusals(shop, draft, publisher):
    policy_publish(version_id=draft.pk, actor=publisher)
    draft.refresh_from_db()
    for given, code in (
        ({"version": "1999.1"}, "unknown_policy_version"),
        ({"version": draft, "accepted_at": draft.published_at - timedelta(minutes=1)}, "before_publication"),
        ({"version": "2023.1", "accepted_at": timezone.now() + timedelta(hours=1)}, "invalid_time"),
    ):
        with pytest.raises(ConsentError) as raised:
            policy_accept(merchant_id=shop.pk, **given)
        assert raised.value.code == code
    unpublished = PolicyVersion.objects.create(version="2027.1", text_id="a", text_en="b", effective_at=timezone.now())
    for version in (unpublished.version, unpublished):
        with pytest.raises(ConsentError) as raised:
            policy_accept(merchant_id=shop.pk, version=version)
        assert raised.value.code == "unknown_policy_version"
    with pytest.raises(ConsentError) as raised:
        policy_accept(merchant_id=999999, version="2023.1")
    assert raised.value.code == "unknown_merchant"
    assert not PolicyAcceptance.objects.exists()
