"""`manage.py consent_rebuild`: a state row changed behind the ledger's back is found and mended."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from consent.models import Action, Channel, ConsentState
from consent.services import consent_record, subject_ref

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("consent_rebuild", *args, stdout=out, stderr=StringIO(), verbosity=0)
    return out.getvalue()


@pytest.fixture
def ledger(shop):
    earlier = timezone.now() - timedelta(hours=2)
    ani = subject_ref(email="Ani@Contoh.co.id", phone="0812-1111-2222", merchant_id=shop.pk)
    consent_record(subject=ani, purpose="marketing", action=Action.GIVEN, channel=Channel.TILL, occurred_at=earlier)
    consent_record(subject=ani, purpose="marketing", action=Action.WITHDRAWN, channel=Channel.APP)
    budi = subject_ref(email="budi@contoh.co.id")
    consent_record(subject=budi, purpose="research", action=Action.WITHDRAWN, channel=Channel.PORTAL)
    consent_record(subject=budi, purpose="marketing", action=Action.GIVEN, channel=Channel.PORTAL)
    return ani, budi


def test_a_ledger_kept_by_the_service_is_clean(ledger):
    out = run()
    assert "identifiers checked: 3" in out  # two e-mails and one phone
    assert "missing state rows:  0" in out and "different rows:      0" in out and "extra rows:          0" in out


def test_a_state_row_edited_behind_the_ledgers_back_is_reported_then_mended_then_clean(ledger):
    ani, budi = ledger
    # Someone "fixes" Ani's marketing choice by hand, and a row appears that no event supports.
    ConsentState.objects.filter(identifier=ani.email, purpose__key="marketing").update(consented=True)
    ConsentState.objects.filter(identifier=budi.email, purpose__key="research").delete()
    ConsentState.objects.create(identifier="hantu@contoh.co.id", purpose_id=ConsentState.objects.first().purpose_id, consented=True)

    with pytest.raises(CommandError) as refused:
        run()
    assert refused.value.returncode == 1
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("consent_rebuild", stdout=out, stderr=StringIO(), verbosity=0)
    report = out.getvalue()
    assert "missing state rows:  1" in report and "different rows:      1" in report and "extra rows:          1" in report
    assert "ani@contoh.co.id" not in report.lower() and "hantu" not in report  # only short hashes
    assert ConsentState.objects.get(identifier=ani.email, purpose__key="marketing").consented is True  # unchanged

    mended = run("--fix")
    assert "Mended" in mended
    assert ConsentState.objects.get(identifier=ani.email, purpose__key="marketing").consented is False
    assert ConsentState.objects.get(identifier=budi.email, purpose__key="research").consented is False
    assert not ConsentState.objects.filter(identifier="hantu@contoh.co.id").exists()

    again = run()
    assert "missing state rows:  0" in again and "different rows:      0" in again and "extra rows:          0" in again
    assert "equals the ledger" in again
