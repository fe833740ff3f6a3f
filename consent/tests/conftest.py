"""Fixtures of the consent tests. Purposes and the first policy version come from migration 0003."""

import pytest

from consent.selectors import purposes_forget
from merchants.tests.factories import MerchantFactory


@pytest.fixture(autouse=True)
def _fresh_purposes():
    # Purposes are cached per process; a test that edits one must not leak it into the next.
    purposes_forget()
    yield
    purposes_forget()


@pytest.fixture
def shop(db):
    return MerchantFactory(business_name="Warung Sari", owner_email="pemilik@warungsari.id")


@pytest.fixture
def other_shop(db):
    return MerchantFactory(business_name="Toko Maju", owner_email="pemilik@tokomaju.id")
