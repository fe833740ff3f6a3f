"""factory-boy factories and small builders for consent's tests (purposes come from migration 0003)."""

from __future__ import annotations

import factory

from consent.models import Recipient
from consent.selectors import purpose_get
from consent.services import consent_record, subject_ref


class RecipientFactory(factory.django.DjangoModelFactory):
    """A registered recipient; `purposes` (keys) registers it for them."""

    class Meta:
        model = Recipient
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"PT Mitra Data {n}")
    kind = Recipient.Kind.AFFILIATE
    country = "ID"
    categories = factory.LazyFunction(lambda: ["identity", "contact", "marketing"])
    erasure_contact = factory.Sequence(lambda n: f"privasi{n}@mitra.co.id")
    active = True

    @factory.post_generation
    def purposes(self, create, extracted, **kwargs):
        if create and extracted:
            self.purposes.set([purpose_get(key) for key in extracted])


def record(*, email=None, phone=None, merchant=None, purpose="marketing", action="given", channel="till", **more):
    """consent_record for a subject given as the till would give it."""
    subject = subject_ref(email=email, phone=phone, merchant_id=merchant.pk if merchant is not None else None)
    return consent_record(subject=subject, purpose=purpose, action=action, channel=channel, **more)
