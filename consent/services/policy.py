"""Policy versions: publishing one, telling every active merchant, and their acceptance.

Safety design of the notice (a fan-out over every active merchant)
- One `PolicyNotice` per version is its run record. A worker works it only while it holds the
  claim (a token and a lease, taken by a conditional UPDATE); a killed worker's lease runs out
  and `policy_notices_resume` (beat, every minute) queues it again for the next worker.
- Merchants are walked in key order from the cursor, NOTICE_BATCH at a time. Each batch is one
  transaction, fenced by the claim (the notice row is locked with the token in the WHERE clause):
  it queues the batch's e-mails in the outbox, records one `PolicyNoticeDelivery` per merchant
  (unique per notice and merchant) and moves the cursor. A kill loses only the batch in flight,
  which rolls back with its messages; a batch done is never done again, and the constraint
  refuses a second delivery to a merchant whatever happens. The outbox sends after commit.
- A time budget (NOTICE_BUDGET seconds) makes a long fan-out give its claim back and queue
  itself again, so no task runs for hours.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from junoprivacy.celery import enqueue_on_commit
from merchants.identifiers import normalize_email
from merchants.models import Merchant
from messaging.services import message_queue
from retention.services.common import require_permission

from ..exceptions import ConsentError
from ..models import PolicyAcceptance, PolicyNotice, PolicyNoticeDelivery, PolicyVersion, content_hash

NOTICE_TASK = "consent.policy_notice_run"
NOTICE_BATCH = 200
NOTICE_LEASE = timedelta(minutes=5)
NOTICE_BUDGET = 240.0
MESSAGE_KIND = "policy_notice"


def policy_publish(*, version_id: int, actor=None) -> PolicyVersion:
    """Publish a draft: its texts are fixed by their hash, and every active merchant is told."""
    require_permission(actor, "consent.publish_policyversion", what=_("menerbitkan kebijakan privasi"))
    with transaction.atomic():
        version = PolicyVersion.objects.select_for_update().get(pk=version_id)
        if version.is_published:
            raise ConsentError(_("Versi %(version)s sudah diterbitkan.") % {"version": version.version}, code="published")
        if not version.text_id.strip() or not version.text_en.strip():
            raise ConsentError(_("Teks kebijakan dalam bahasa Indonesia dan Inggris wajib diisi."), code="text_missing")
        version.content_hash = content_hash(version.text_id, version.text_en)
        version.published_at = timezone.now()
        version.published_by = actor
        if version.effective_at < version.published_at:
            version.effective_at = version.published_at
        version.save()
        notice = PolicyNotice.objects.create(version=version)
        enqueue_on_commit(NOTICE_TASK, notice.pk)
    return version


def _active_merchants():
    return Merchant.objects.filter(churned_at__isnull=True)


def _claim(notice_id: int, token: str) -> bool:
    now = timezone.now()
    return bool(
        PolicyNotice.objects.filter(pk=notice_id, state__in=[PolicyNotice.State.PENDING, PolicyNotice.State.RUNNING])
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(claimed_by=""))
        .update(
            state=PolicyNotice.State.RUNNING, claimed_by=token, lease_until=now + NOTICE_LEASE,
            attempts=F("attempts") + 1, started_at=Coalesce("started_at", now), heartbeat_at=now,
        )
    )


def policy_notice_run(
    *, notice_id: int, batch_size: int = NOTICE_BATCH, budget: float | None = NOTICE_BUDGET,
    pause: float = 0.0,
) -> str:
    """Work the notice while this worker holds it. Returns what happened: completed, again
    (budget spent, queued again), held (another worker has it), or gone."""
    token = uuid.uuid4().hex
    if not _claim(notice_id, token):
        return "held" if PolicyNotice.objects.filter(pk=notice_id).exists() else "gone"
    started = time.monotonic()
    notice = PolicyNotice.objects.select_related("version").get(pk=notice_id)
    if not notice.merchants_total:
        PolicyNotice.objects.filter(pk=notice_id, claimed_by=token).update(merchants_total=_active_merchants().count())
    while True:
        if budget is not None and time.monotonic() - started > budget:
            PolicyNotice.objects.filter(pk=notice_id, claimed_by=token).update(claimed_by="", lease_until=None)
            enqueue_on_commit(NOTICE_TASK, notice_id)
            return "again"
        with transaction.atomic():
            locked = PolicyNotice.objects.select_for_update().filter(pk=notice_id, claimed_by=token).first()
            if locked is None:
                return "held"  # the lease ran out and another worker took over: write nothing more
            merchants = list(
                _active_merchants().filter(pk__gt=locked.last_merchant_id).order_by("pk")
                .only("pk", "business_name", "owner_name", "owner_email", "preferred_language")[:batch_size]
            )
            now = timezone.now()
            if not merchants:
                locked.state, locked.finished_at, locked.claimed_by, locked.lease_until = (
                    PolicyNotice.State.COMPLETED, now, "", None
                )
                locked.save(update_fields=["state", "finished_at", "claimed_by", "lease_until"])
                return "completed"
            already = set(
                PolicyNoticeDelivery.objects.filter(notice_id=notice_id, merchant_id__in=[m.pk for m in merchants])
                .values_list("merchant_id", flat=True)
            )
            deliveries, skipped = [], 0
            for merchant in merchants:
                if merchant.pk in already:
                    continue
                message = _notify(merchant, locked.version)
                skipped += message is None
                deliveries.append(PolicyNoticeDelivery(notice_id=notice_id, merchant_id=merchant.pk, message=message))
            PolicyNoticeDelivery.objects.bulk_create(deliveries)
            PolicyNotice.objects.filter(pk=notice_id).update(
                last_merchant_id=merchants[-1].pk, merchants_done=F("merchants_done") + len(deliveries) - skipped,
                merchants_skipped=F("merchants_skipped") + skipped, heartbeat_at=now, lease_until=now + NOTICE_LEASE,
            )
        if pause:
            time.sleep(pause)  # tests: room to kill a worker between two batches


def _notify(merchant: Merchant, version: PolicyVersion):
    """Queue the notice to the merchant's owner, in her language; None without a usable address."""
    if not normalize_email(merchant.owner_email):
        return None
    language = "en" if (merchant.preferred_language or "").startswith("en") else "id"
    with translation.override(language):
        context = {
            "merchant": merchant, "version": version, "summary": version.summary(language),
            "url": f"{settings.PORTAL_URL.rstrip('/')}{'/en' if language == 'en' else ''}/kebijakan/{version.version}/",
        }
        subject = _("Kebijakan Privasi JUNOPOS diperbarui (versi %(version)s)") % {"version": version.version}
        body = render_to_string("emails/policy_notice.txt", context)
    return message_queue(
        kind=MESSAGE_KIND, subject=subject, body=body, to_email=merchant.owner_email, language=language,
        merchant_id=merchant.pk,
    )


def policy_notices_resume(*, now: datetime | None = None) -> list[int]:
    """Notices whose worker died (lease run out) or whose task was lost: queue them again."""
    now = now or timezone.now()
    stalled = PolicyNotice.objects.filter(
        state__in=[PolicyNotice.State.PENDING, PolicyNotice.State.RUNNING]
    ).filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True, created_at__lt=now - NOTICE_LEASE))
    ids = list(stalled.values_list("pk", flat=True))
    for notice_id in ids:
        enqueue_on_commit(NOTICE_TASK, notice_id)
    return ids


def policy_accept(
    *, merchant_id: int, version: PolicyVersion | str, accepted_at: datetime | None = None, channel: str = "api",
    client=None,
) -> tuple[PolicyAcceptance, bool]:
    """JUNOPOS reports a merchant's continued use under a version: recorded once (created, or not)."""
    if isinstance(version, str):
        found = PolicyVersion.objects.filter(version=version, published_at__isnull=False).first()
        if found is None:
            raise ConsentError(_("Versi kebijakan tidak dikenal."), code="unknown_policy_version", field="version")
        version = found
    elif not version.is_published:
        raise ConsentError(_("Versi kebijakan tidak dikenal."), code="unknown_policy_version", field="version")
    accepted_at = accepted_at or timezone.now()
    if timezone.is_naive(accepted_at) or accepted_at > timezone.now() + timedelta(minutes=5):
        raise ConsentError(_("Waktu penerimaan tidak valid."), code="invalid_time", field="accepted_at")
    if accepted_at < version.published_at:
        raise ConsentError(
            _("Penerimaan tidak dapat terjadi sebelum versi ini diterbitkan."), code="before_publication",
            field="accepted_at",
        )
    if not Merchant.objects.filter(pk=merchant_id).exists():
        raise ConsentError(_("Merchant tidak dikenal."), code="unknown_merchant", field="merchant_id")
    with transaction.atomic():
        return PolicyAcceptance.objects.get_or_create(
            merchant_id=merchant_id, version=version,
            defaults={"accepted_at": accepted_at, "channel": channel, "client": client},
        )
