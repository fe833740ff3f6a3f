"""The policy notice's fan-out on a real Celery worker: killed mid-way (kill -9), resumed by the
sweep on another worker, and nobody told twice or forgotten.

The worker gets batches of 10 merchants and a pause of 0.2 s after each (the cluster's
environment), so 160 merchants take a few seconds and the kill lands between batches or in one.
The lease (consent.services.policy.NOTICE_LEASE, five minutes, no setting) is not waited for: the
test moves the dead worker's lease into the past, which is what five minutes would do.
"""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from consent import tasks
from consent.models import PolicyNotice, PolicyNoticeDelivery, PolicyVersion
from consent.services import policy_notice_run, policy_publish
from consent.services.policy import MESSAGE_KIND, policy_notices_resume
from junoprivacy.testing import wait_until
from merchants.models import Merchant
from merchants.tests.factories import MerchantFactory
from messaging.models import OutboundMessage

ACTIVE = 160
CHURNED = 6


@pytest.fixture
def cluster_env():
    return {"CONSENT_NOTICE_BATCH": "10", "CONSENT_NOTICE_PAUSE": "0.2"}


def dpo():
    user = get_user_model().objects.create_user("dpo", password="x" * 12, is_staff=True)
    user.groups.add(Group.objects.get(name="Data protection officer"))
    return user


def merchants(active=ACTIVE, churned=CHURNED):
    MerchantFactory.create_batch(active)
    MerchantFactory.create_batch(churned, churned_at=timezone.now() - timedelta(days=10))


def draft(version="2027.1") -> PolicyVersion:
    return PolicyVersion.objects.create(
        version=version, text_id="Kebijakan Privasi JUNOPOS, versi baru.", text_en="JUNOPOS Privacy Policy, new version.",
        summary_id="Tujuan pemasaran diperjelas.", summary_en="The marketing purpose explained.", effective_at=timezone.now(),
    )


def assert_everyone_told_once(notice: PolicyNotice) -> None:
    active = set(Merchant.objects.filter(churned_at__isnull=True).values_list("pk", flat=True))
    churned = set(Merchant.objects.filter(churned_at__isnull=False).values_list("pk", flat=True))
    deliveries = Counter(PolicyNoticeDelivery.objects.filter(notice=notice).values_list("merchant_id", flat=True))
    messages = Counter(OutboundMessage.objects.filter(kind=MESSAGE_KIND).values_list("merchant_id", flat=True))
    assert set(deliveries) == active and set(deliveries.values()) == {1}
    assert set(messages) == active and set(messages.values()) == {1}
    assert not churned & (set(deliveries) | set(messages))
    assert PolicyNoticeDelivery.objects.filter(notice=notice, message__isnull=True).count() == notice.merchants_skipped == 0
    assert notice.merchants_total == notice.merchants_done == len(active) == PolicyNoticeDelivery.objects.filter(notice=notice).count()


# -- a real worker, killed ------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_notice_is_resumed_on_another_and_nobody_is_told_twice(cluster):
    merchants()
    version = policy_publish(version_id=draft().pk, actor=dpo())
    notice = PolicyNotice.objects.get(version=version)
    # The service queued the task on commit on the test process's broker; the cluster has its own.
    first = cluster.worker("w1")
    cluster.send(tasks.policy_notice_run, notice.pk)
    wait_until(
        lambda: PolicyNotice.objects.filter(pk=notice.pk, merchants_done__gte=30).exists(),
        timeout=60, what="the notice to be under way", every=0.02,
    )
    first.kill()

    notice.refresh_from_db()
    assert notice.state == PolicyNotice.State.RUNNING and notice.attempts == 1
    assert 30 <= notice.merchants_done < ACTIVE, notice.merchants_done
    assert notice.merchants_total == ACTIVE
    # What the record says is exactly what committed: a delivery and a message per merchant done.
    done = PolicyNoticeDelivery.objects.filter(notice=notice).count()
    assert done == notice.merchants_done == OutboundMessage.objects.filter(kind=MESSAGE_KIND).count()
    assert notice.lease_until > timezone.now()  # the dead worker still holds it...
    assert policy_notices_resume() == []  # ...so the sweep leaves it alone

    # Five minutes pass: the dead worker's lease runs out.
    PolicyNotice.objects.filter(pk=notice.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    cluster.worker("w2")
    cluster.send(tasks.policy_notices_resume)  # what beat runs every minute
    wait_until(
        lambda: PolicyNotice.objects.filter(pk=notice.pk, state=PolicyNotice.State.COMPLETED).exists(),
        timeout=60, what="the second worker to finish the notice",
    )
    assert "1" in cluster.successes(tasks.policy_notices_resume)
    assert "completed" in " ".join(cluster.successes(tasks.policy_notice_run))
    notice.refresh_from_db()
    assert notice.attempts == 2 and notice.finished_at and not notice.claimed_by
    assert_everyone_told_once(notice)


# -- the service without a worker -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_second_run_of_a_completed_notice_does_nothing(seeded):
    merchants(active=25, churned=2)
    version = policy_publish(version_id=draft().pk, actor=dpo())  # tasks run in process: done at commit
    notice = PolicyNotice.objects.get(version=version)
    assert notice.state == PolicyNotice.State.COMPLETED
    assert_everyone_told_once(notice)
    before = (PolicyNoticeDelivery.objects.count(), OutboundMessage.objects.count(), notice.attempts)

    assert policy_notice_run(notice_id=notice.pk, batch_size=5) == "held"
    notice.refresh_from_db()
    assert (PolicyNoticeDelivery.objects.count(), OutboundMessage.objects.count(), notice.attempts) == before
    assert notice.state == PolicyNotice.State.COMPLETED
    assert policy_notices_resume() == []


@pytest.mark.django_db(transaction=True)
def test_a_run_that_lost_its_claim_writes_nothing_more():
    merchants(active=40, churned=0)
    # A published version whose notice nobody has started (as policy_publish leaves it).
    version = draft()
    PolicyVersion.objects.filter(pk=version.pk).update(published_at=timezone.now(), content_hash="0" * 64)
    notice = PolicyNotice.objects.create(version=version)
    outcome = {}

    def work():
        try:
            outcome["run"] = policy_notice_run(notice_id=notice.pk, batch_size=5, pause=0.3, budget=None)
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    wait_until(lambda: PolicyNotice.objects.filter(pk=notice.pk, merchants_done__gte=5).exists(),
               timeout=20, what="the first batches")
    # Another worker takes the notice over (as after an expired lease). The UPDATE waits for a
    # batch in flight to commit; after it, the first run's claim is gone.
    PolicyNotice.objects.filter(pk=notice.pk).update(claimed_by="another-worker", lease_until=timezone.now() + timedelta(minutes=5))
    taken = (PolicyNoticeDelivery.objects.count(), OutboundMessage.objects.count())
    worker.join(timeout=20)

    assert outcome == {"run": "held"}
    assert (PolicyNoticeDelivery.objects.count(), OutboundMessage.objects.count()) == taken
    notice.refresh_from_db()
    assert notice.merchants_done == taken[0] < 40 and notice.claimed_by == "another-worker"
    assert notice.state == PolicyNotice.State.RUNNING
