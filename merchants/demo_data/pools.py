"""The people the demo data is made of, and the identifiers it gives them.

- `phone_forms` / `PHONE_STYLES`: the ways one Indonesian mobile number is typed (the same
  number written differently in different shops is the point of the demo);
- `Person`: one made-up person of the pools;
- `Featured`, `SITI`, `BUDI`, `DEWI`: the three people who appear in several shops, so that
  every path meets the cross-merchant case (only with at least `FEATURED_MIN_MERCHANTS`);
- `Pools`: names, streets, postcodes and people made once per run with a seeded
  `Faker("id_ID")`, then drawn from with the caller's `random.Random`; Faker is never called
  per row;
- `nik`, `npwp`, `masked_card`: well-formed (not real) identity, tax and card numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from faker import Faker

from ..identifiers import normalize_phone
from .reference import MAIL_DOMAINS, MOBILE_PREFIXES


# --------------------------------------------------------------------------------------------
# Phones as people type them

def phone_forms(national: str) -> dict[str, str]:
    """The ways one Indonesian mobile number is typed; `national` is without the 0 (812...)."""
    a, b, c = national[:3], national[3:7], national[7:]
    return {
        "local": f"0{national}",
        "local_dashed": f"0{a}-{b}-{c}",
        "local_spaced": f"0{a} {b} {c}",
        "country": f"62{national}",
        "plus": f"+62{national}",
        "plus_dashed": f"+62 {a}-{b}-{c}",
        "plus_spaced": f"+62 {a} {b} {c}",
    }


PHONE_STYLES = ["local"] * 5 + ["local_dashed"] * 2 + ["local_spaced", "country", "country", "plus",
                                                       "plus_dashed", "plus_spaced"]


@dataclass
class Person:
    name: str
    gender: str
    birth_date: date
    national: str  # 812... (no leading 0)
    e164: str
    email: str | None
    forms: dict[str, str] = field(repr=False, default_factory=dict)


# --------------------------------------------------------------------------------------------
# The people who appear in several places, so that every path meets the cross-merchant case

@dataclass(frozen=True)
class Featured:
    name: str
    gender: str
    birth_date: date
    national: str
    email: str


SITI = Featured("Siti Rahayu", "F", date(1994, 3, 17), "81298765432", "siti.rahayu@gmail.com")
BUDI = Featured("Budi Santoso", "M", date(1979, 11, 2), "85711223344", "budi.santoso@yahoo.co.id")
DEWI = Featured("Dewi Lestari", "F", date(1988, 6, 24), "81377889900", "dewi.lestari88@outlook.co.id")
FEATURED_MIN_MERCHANTS = 4


# --------------------------------------------------------------------------------------------
# Pools: made once per run with Faker, then drawn from

class Pools:
    def __init__(self, *, seed: int, persons: int, walk_ins: int):
        fake = Faker("id_ID")
        fake.seed_instance(seed)
        rng = random.Random(f"{seed}:pools")
        self.first_female = sorted({fake.first_name_female() for _ in range(400)})
        self.first_male = sorted({fake.first_name_male() for _ in range(400)})
        self.last = sorted({fake.last_name() for _ in range(400)})
        self.streets = [fake.street_address() for _ in range(400)]
        self.postcodes = [fake.postcode() for _ in range(100)]
        reserved = {SITI.national, BUDI.national, DEWI.national}
        self._used_phones = set(reserved)
        self._used_emails = {SITI.email, BUDI.email, DEWI.email}
        self.persons = [self.person(rng) for _ in range(persons)]
        self.walk_ins = [self.person(rng) for _ in range(walk_ins)]

    def name(self, rng: random.Random, gender: str) -> tuple[str, str, str]:
        first = rng.choice(self.first_female if gender == "F" else self.first_male)
        last = rng.choice(self.last)
        return first, last, f"{first} {last}"

    def phone(self, rng: random.Random) -> str:
        while True:
            national = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if national not in self._used_phones:
                self._used_phones.add(national)
                return national

    def email(self, rng: random.Random, first: str, last: str) -> str:
        while True:
            local = rng.choice([f"{first}.{last}", f"{first}{last}", f"{first}_{last}", f"{first}"])
            local = "".join(ch for ch in local.lower() if ch.isalnum() or ch in "._")
            if rng.random() < 0.6:
                local += str(rng.randrange(1, 100))
            address = f"{local}@{rng.choice(MAIL_DOMAINS)}"
            if address not in self._used_emails:
                self._used_emails.add(address)
                return address

    def person(self, rng: random.Random) -> Person:
        gender = rng.choice("FM")
        first, last, name = self.name(rng, gender)
        national = self.phone(rng)
        forms = phone_forms(national)
        e164 = normalize_phone(forms["local"])
        birth = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 46))
        email = self.email(rng, first, last) if rng.random() < 0.7 else None
        return Person(name, gender, birth, national, e164, email, forms)

    def address(self, rng: random.Random, city: str) -> str:
        return f"{rng.choice(self.streets)}, {city} {rng.choice(self.postcodes)}"


def nik(rng: random.Random, region: str, birth: date, gender: str) -> str:
    """A well-formed NIK: region, district, birth date (day + 40 for women), serial."""
    day = birth.day + (40 if gender == "F" else 0)
    district, serial = rng.randrange(1, 40), rng.randrange(1, 10000)
    return f"{region}{district:02d}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


def npwp(rng: random.Random) -> str:
    d = f"{rng.randrange(10**15):015d}"
    return f"{d[0:2]}.{d[2:5]}.{d[5:8]}.{d[8]}-{d[9:12]}.{d[12:15]}"


def masked_card(rng: random.Random, bins: list[str]) -> str:
    return f"{rng.choice(bins)} {rng.randrange(100):02d}** **** {rng.randrange(10000):04d}"
