"""A phone is one number however it was typed; an e-mail is one address in any letter case."""

import pytest

from merchants.demo_data import phone_forms
from merchants.identifiers import normalize_email, normalize_phone

SITI = "+6281298765432"


@pytest.mark.parametrize(
    "typed",
    [
        "081298765432",
        "6281298765432",
        "+62 812-9876-5432",
        "+6281298765432",
        "0812 9876 5432",
        "0812-9876-5432",
        "  0812-9876-5432  ",
        "(0812) 9876 5432",
        "62 812 9876 5432",
        "+62 (812) 9876-5432",
        "0812.9876.5432",
    ],
)
def test_every_way_of_typing_one_number_gives_one_e164(typed):
    assert normalize_phone(typed) == SITI


def test_the_demo_datas_spellings_are_all_the_same_number():
    forms = phone_forms("81298765432")
    assert len(set(forms.values())) == len(forms) >= 7
    assert {normalize_phone(form) for form in forms.values()} == {SITI}


def test_landlines_and_foreign_numbers():
    assert normalize_phone("(021) 555-1234") == "+62215551234"
    assert normalize_phone("+31 6 4123 8765") == "+31641238765"
    assert normalize_phone("06 4123 8765", region="NL") == "+31641238765"


@pytest.mark.parametrize("garbage", [None, "", "   ", "abc", "12", "0812", "++--", "tidak ada", "0" * 30, "+62"])
def test_what_cannot_be_a_phone_gives_none(garbage):
    assert normalize_phone(garbage) is None


@pytest.mark.parametrize(
    "typed", ["siti.rahayu@gmail.com", "Siti.Rahayu@gmail.com", "SITI.RAHAYU@GMAIL.COM", "  Siti.Rahayu@Gmail.com "]
)
def test_email_is_case_folded_and_trimmed(typed):
    assert normalize_email(typed) == "siti.rahayu@gmail.com"


@pytest.mark.parametrize("garbage", [None, "", "siti.rahayu", "   "])
def test_what_cannot_be_an_email_gives_none(garbage):
    assert normalize_email(garbage) is None
