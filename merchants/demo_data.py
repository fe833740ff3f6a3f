"""Deterministic, realistic Indonesian demo data for the governed JUNOPOS tables.

Used by `manage.py seed_demo`. Two layers:

- the *small path* (merchants, outlets, staff, bank accounts, and the people who appear in
  several places) goes through merchants.services, row by row, validated, each with its "+"
  row in the audit history;
- the *bulk path* (loyalty customers, device sessions, sales, lines, payments) is generated
  from pools made once (names, streets, menus), drawn with seeded `random.Random`s, in
  chunks, and written with PostgreSQL's COPY (psycopg 3) or, on other databases, with
  `bulk_create`. Faker is called only to fill the pools, never per row.

Primary keys: sales, payments and loyalty customers get explicit ids from a range reserved
up front on their sequences (`setval(seq, nextval(seq) + n - 1)`; max(id) + 1 elsewhere),
since lines, payments and sales point at them before anything is written; lines and device
sessions, which nothing points at, take theirs from the identity column's default.

Audit history: every seeded row of a table that has history gets its one "+" history row,
as if it had been created through the app, because erasure must reach the history tables
and the demo should give it rows to reach there. The small path gets them from the services
(save, and simple-history records). Loyalty customers, written in bulk, get theirs written
in bulk beside them (`write_history`, the rows `bulk_create_with_history` would write, but
through COPY: that costs one more bulk write of the same size, a second at 40,000 members,
where bulk_create_with_history took twenty). Sales, lines, payments and device sessions have
no history tables (immutable records), so their bulk path writes none.

Determinism: everything is drawn from `random.Random`s seeded from `--seed` (one per
merchant for its sales, so one merchant's rows do not depend on another's) and from a
`Faker("id_ID")` seeded the same way; dates are relative to `as_of` (today in Asia/Jakarta
unless given). Two runs with the same seed and `as_of` give the same rows; only primary keys
and `created_at` stamps differ.

Nothing here imports retention, consent or requests_portal.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from faker import Faker

from . import services
from .identifiers import normalize_phone
from .models import DeviceSession, LoyaltyCustomer, Merchant, Outlet, Payment, Sale, SaleLine, StaffUser

JAKARTA = ZoneInfo("Asia/Jakarta")
PPN_PERCENT = 11  # Pajak Pertambahan Nilai since April 2022

# city, NIK region code (province+regency), latitude, longitude, neighbourhoods for outlet names
CITIES = [
    ("Jakarta Selatan", "3174", -6.2615, 106.8106, ["Kemang", "Blok M", "Tebet", "Cipete"]),
    ("Jakarta Pusat", "3171", -6.1865, 106.8341, ["Menteng", "Cikini", "Senen", "Tanah Abang"]),
    ("Jakarta Barat", "3173", -6.1683, 106.7588, ["Kebon Jeruk", "Grogol", "Puri Indah"]),
    ("Bekasi", "3275", -6.2383, 106.9756, ["Summarecon", "Harapan Indah", "Galaxy", "Jatiasih"]),
    ("Depok", "3276", -6.4025, 106.7942, ["Margonda", "Sawangan", "Cinere"]),
    ("Tangerang Selatan", "3674", -6.2886, 106.7179, ["BSD", "Bintaro", "Pamulang"]),
    ("Bogor", "3271", -6.5971, 106.8060, ["Pajajaran", "Sempur", "Bogor Baru"]),
    ("Bandung", "3273", -6.9175, 107.6191, ["Dago", "Riau", "Buah Batu", "Setiabudi"]),
    ("Surabaya", "3578", -7.2575, 112.7521, ["Gubeng", "Darmo", "Rungkut", "Kenjeran"]),
    ("Yogyakarta", "3471", -7.7956, 110.3695, ["Malioboro", "Kotabaru", "Prawirotaman"]),
    ("Semarang", "3374", -6.9667, 110.4167, ["Simpang Lima", "Tembalang", "Candi"]),
    ("Malang", "3573", -7.9666, 112.6326, ["Ijen", "Soekarno-Hatta", "Dinoyo"]),
    ("Surakarta", "3372", -7.5755, 110.8243, ["Slamet Riyadi", "Manahan", "Laweyan"]),
    ("Medan", "1275", 3.5952, 98.6722, ["Kesawan", "Setiabudi", "Polonia"]),
    ("Palembang", "1671", -2.9761, 104.7754, ["Ilir Barat", "Demang", "Sako"]),
    ("Pekanbaru", "1471", 0.5071, 101.4478, ["Sudirman", "Panam", "Tampan"]),
    ("Makassar", "7371", -5.1477, 119.4327, ["Losari", "Panakkukang", "Tamalanrea"]),
    ("Manado", "7171", 1.4748, 124.8421, ["Boulevard", "Wanea", "Tikala"]),
    ("Balikpapan", "6471", -1.2379, 116.8529, ["Klandasan", "Sepinggan", "Gunung Sari"]),
    ("Denpasar", "5171", -8.6705, 115.2126, ["Renon", "Sanur", "Teuku Umar"]),
]

# product, price (IDR), popularity, per-kg (decimal quantity)
MENUS: dict[str, tuple[str, list[str], list[tuple[str, int, int, bool]]]] = {
    "Kedai kopi": ("KOP", ["Kopi {last}", "Kedai Kopi {first}", "{last} Coffee"], [
        ("Kopi susu gula aren", 22000, 30, False), ("Es kopi susu", 20000, 25, False),
        ("Americano", 18000, 10, False), ("Cappuccino", 25000, 10, False), ("Caffe latte", 27000, 10, False),
        ("Kopi tubruk", 12000, 6, False), ("V60 Gayo", 30000, 4, False), ("Es teh manis", 8000, 12, False),
        ("Teh tarik", 15000, 6, False), ("Matcha latte", 28000, 6, False), ("Cokelat panas", 24000, 4, False),
        ("Croissant", 22000, 6, False), ("Roti bakar cokelat keju", 20000, 8, False),
        ("Pisang goreng", 15000, 8, False), ("Kentang goreng", 18000, 6, False), ("Air mineral", 6000, 5, False),
    ]),
    "Warung makan": ("WRG", ["Warung Bu {first}", "Rumah Makan {last}", "Warung Makan {first} Jaya"], [
        ("Nasi goreng spesial", 25000, 20, False), ("Nasi goreng kampung", 20000, 12, False),
        ("Mie goreng jawa", 22000, 10, False), ("Nasi uduk", 15000, 8, False), ("Ayam geprek", 20000, 15, False),
        ("Ayam bakar", 28000, 8, False), ("Soto ayam", 18000, 10, False), ("Bakso urat", 20000, 10, False),
        ("Gado-gado", 17000, 6, False), ("Sate ayam (10 tusuk)", 30000, 8, False),
        ("Nasi rendang", 32000, 6, False), ("Tempe mendoan", 10000, 6, False), ("Kerupuk", 3000, 10, False),
        ("Es teh manis", 5000, 25, False), ("Es jeruk", 8000, 10, False), ("Teh botol", 6000, 6, False),
        ("Nasi putih", 5000, 8, False),
    ]),
    "Toko kelontong": ("TKO", ["Toko {last} Jaya", "Toko Kelontong {first}", "Minimarket {last} Mandiri"], [
        ("Beras premium 5 kg", 78000, 8, False), ("Minyak goreng 2 L", 38000, 10, False),
        ("Gula pasir 1 kg", 17500, 10, False), ("Telur ayam 1 kg", 29000, 10, False),
        ("Indomie goreng", 3500, 25, False), ("Kopi sachet", 1500, 15, False), ("Teh celup isi 25", 7500, 6, False),
        ("Susu kental manis", 12500, 6, False), ("Kecap manis 600 ml", 24000, 5, False),
        ("Sabun mandi", 4500, 8, False), ("Pasta gigi", 13000, 5, False), ("Air mineral 600 ml", 4000, 15, False),
        ("Gas LPG 3 kg", 22000, 6, False), ("Tepung terigu 1 kg", 13000, 5, False),
        ("Sarden kaleng", 11000, 4, False),
    ]),
    "Toko roti": ("ROT", ["Roti {last}", "{first} Bakery", "Toko Roti {last}"], [
        ("Roti tawar", 16000, 15, False), ("Roti sobek cokelat", 18000, 12, False), ("Bolu pandan", 45000, 5, False),
        ("Donat gula", 6000, 15, False), ("Lapis legit (potong)", 15000, 6, False),
        ("Brownies panggang", 55000, 4, False), ("Roti abon", 12000, 10, False),
        ("Kue cubit (isi 10)", 15000, 6, False), ("Klepon (isi 10)", 12000, 6, False),
        ("Martabak manis keju", 45000, 5, False), ("Es kopi susu", 18000, 8, False),
    ]),
    "Laundry kiloan": ("LDR", ["{first} Laundry", "Laundry Kiloan {last}", "Laundry {last} Bersih"], [
        ("Cuci kering setrika (per kg)", 8000, 40, True), ("Cuci kilat 1 hari (per kg)", 15000, 15, True),
        ("Setrika saja (per kg)", 6000, 10, True), ("Bed cover", 35000, 6, False), ("Selimut", 25000, 6, False),
        ("Boneka", 20000, 3, False), ("Cuci sepatu", 35000, 5, False),
    ]),
}

# bank, account-number length, card BIN prefixes (issuer-style, not real BINs)
BANKS = [
    ("BCA", 10, ["4556", "5241"]), ("Mandiri", 13, ["4617", "5264"]), ("BRI", 15, ["5221", "6013"]),
    ("BNI", 10, ["4105", "5371"]), ("CIMB Niaga", 13, ["4365", "5482"]), ("Permata", 10, ["4214"]),
    ("BSI", 10, ["6019"]), ("Danamon", 10, ["4587"]), ("BTN", 16, ["6048"]),
]
QRIS_ISSUERS = ["GoPay", "OVO", "DANA", "ShopeePay", "LinkAja", "BCA mobile", "Livin' by Mandiri", "BRImo"]
EWALLETS = [("GoPay", "GP"), ("OVO", "OVO"), ("DANA", "DN"), ("ShopeePay", "SP"), ("LinkAja", "LA")]
METHODS = ["cash", "qris", "debit", "credit", "ewallet", "transfer"]
METHOD_CUM = [35, 65, 80, 87, 97, 100]
LINE_COUNTS = [1, 2, 3, 4, 5]
LINE_CUM = [25, 55, 75, 90, 100]  # mean 2.55 lines per sale
HOURS = list(range(6, 23))  # opening hours in Jakarta time, peaks at lunch and dinner
HOUR_CUM = []
_acc = 0
for _w in [1, 3, 5, 5, 6, 9, 10, 8, 5, 4, 5, 7, 9, 8, 6, 3, 1]:
    _acc += _w
    HOUR_CUM.append(_acc)
QUANTITIES = [1] * 15 + [2] * 4 + [3]
WEEKDAY_FACTOR = [0.9, 0.9, 0.95, 1.0, 1.15, 1.35, 1.25]
MAIL_DOMAINS = ["gmail.com"] * 12 + ["yahoo.co.id"] * 3 + ["yahoo.com", "outlook.com", "hotmail.com", "ymail.com"]
MOBILE_PREFIXES = [
    "811", "812", "813", "821", "822", "823", "852", "853", "814", "815", "816", "855", "856", "857", "858",
    "817", "818", "819", "859", "877", "878", "831", "832", "838", "895", "896", "897", "898", "881", "882",
]
ISP_PREFIXES = ["36.68", "36.72", "36.85", "110.136", "110.137", "114.124", "114.125", "180.241", "180.244",
                "182.1", "182.253", "202.80", "103.147", "139.192", "140.213", "125.160"]
APP_VERSIONS = ["4.8.2", "4.9.0", "4.9.3", "4.10.1", "4.11.0", "4.12.2", "5.0.1", "5.1.0"]
OUTLET_DEVICES = [("Android 11", "Sunmi V2s"), ("Android 12", "Sunmi T2s"), ("Android 13", "Samsung Galaxy Tab A8"),
                  ("iPadOS 17", "iPad (9th generation)"), ("Windows 11", "POS PC")]
PHONE_DEVICES = [("Android 13", "Samsung Galaxy A54"), ("Android 14", "Xiaomi Redmi Note 13"),
                 ("Android 12", "OPPO A77s"), ("iOS 17", "iPhone 13"), ("Android 13", "vivo Y36")]
PLANS = ["free", "basic", "basic", "basic", "pro", "pro", "enterprise"]
RECENT_CHURN_DAYS = [10, 25, 3, 45, 17, 60, 32]

SALE_COLUMNS = ("id", "merchant_id", "outlet_id", "cashier_id", "customer_id", "receipt_number", "receipt_email",
                "receipt_phone", "receipt_phone_e164", "subtotal", "tax", "total", "sold_at")
LINE_COLUMNS = ("merchant_id", "sale_id", "product_name", "sku", "quantity", "unit_price", "line_total")
PAYMENT_COLUMNS = ("id", "merchant_id", "sale_id", "method", "bank_name", "card_masked", "reference", "amount",
                   "paid_at")
CUSTOMER_COLUMNS = ("id", "merchant_id", "name", "gender", "birth_date", "phone", "phone_e164", "email",
                    "loyalty_card_number", "points", "accepts_marketing", "created_at")
SESSION_COLUMNS = ("merchant_id", "staff_id", "device_id", "ip_address", "user_agent", "app_version", "os_name",
                   "latitude", "longitude", "started_at")


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


# --------------------------------------------------------------------------------------------
# The plan of one merchant: what the bulk generator needs, as plain data (no ORM in threads)

@dataclass
class OutletPlan:
    id: int
    number: int
    latitude: float
    longitude: float
    cashier_ids: list[int]
    devices: list[tuple[str, str, str]]  # device id, os, model


@dataclass
class CustomerRef:
    id: int
    email: str | None
    phone: str
    e164: str
    card: tuple[str, str]  # bank, masked card


@dataclass
class MerchantPlan:
    index: int
    id: int
    name: str
    menu_prefix: str
    menu: list[tuple[str, int, int, bool]]
    window_start: date
    window_end: date  # exclusive
    outlets: list[OutletPlan]
    personal_devices: list[tuple[int, str, str, str]]  # staff id, device id, os, model (owner, manager)
    staff_outlet: dict[int, int]  # staff id -> outlet index (for session geo)
    customers: list[CustomerRef] = field(default_factory=list)
    featured: dict[int, dict] = field(default_factory=dict)  # sale index -> overrides
    sessions: int = 0
    siti_staff: int | None = None


@dataclass
class CrossPerson:
    """Where one featured person was written, for the closing "try looking up" list."""

    person: Featured
    places: list[str] = field(default_factory=list)
    spellings: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)

    def add(self, place: str, phone: str | None = None, email: str | None = None) -> None:
        self.places.append(place)
        if phone and phone not in self.spellings:
            self.spellings.append(phone)
        if email and email not in self.emails:
            self.emails.append(email)


@dataclass
class SeedResult:
    merchants: int = 0
    outlets: int = 0
    staff: int = 0
    bank_accounts: int = 0
    customers: int = 0
    sessions: int = 0
    sales: int = 0
    lines: int = 0
    payments: int = 0
    seconds: float = 0.0
    bulk_seconds: float = 0.0
    method: str = ""
    cross_people: list[CrossPerson] = field(default_factory=list)
    churn: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return (self.merchants + self.outlets + self.staff + self.bank_accounts + self.customers + self.sessions
                + self.sales + self.lines + self.payments)


# --------------------------------------------------------------------------------------------
# Writers: COPY on PostgreSQL, bulk_create elsewhere

class CopyWriter:
    """psycopg 3 COPY FROM STDIN into the model's table; ids reserved from its sequence."""

    method = "COPY (PostgreSQL)"

    def reserve_ids(self, model, n: int) -> int:
        if n <= 0:
            return 0
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, model._meta.pk.column])
            (sequence,) = cursor.fetchone()
            # One statement: take the next value and move the sequence n - 1 further on.
            cursor.execute("SELECT setval(%s, nextval(%s) + %s - 1)", [sequence, sequence, n])
            (last,) = cursor.fetchone()
        return last - n + 1

    def write(self, model, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        qn = connection.ops.quote_name
        names = ", ".join(qn(model._meta.get_field(c).column) for c in columns)
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY {qn(model._meta.db_table)} ({names}) FROM STDIN") as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)


class BulkCreateWriter:
    """The embedded default (SQLite) and any non-PostgreSQL database: bulk_create in batches."""

    method = "bulk_create"

    def __init__(self):
        self._next: dict[type, int] = {}

    def reserve_ids(self, model, n: int) -> int:
        if n <= 0:
            return 0
        if model not in self._next:
            self._next[model] = (model._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1
        first = self._next[model]
        self._next[model] = first + n
        return first

    def write(self, model, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if rows:
            model._default_manager.bulk_create([model(**dict(zip(columns, row))) for row in rows], batch_size=2000)


def write_history(writer, model, columns: tuple[str, ...], rows: list[tuple], *, when: datetime) -> None:
    """The "+" rows simple-history keeps for rows written in bulk: a copy of each row with
    history_date, history_type "+", no reason and no user (history_id from its sequence)."""
    historical = model.history.model
    extra = ("history_date", "history_type", "history_change_reason", "history_user_id")
    expected = set(columns) | set(extra) | {"history_id"}
    actual = {f.attname for f in historical._meta.concrete_fields}
    if actual != expected:  # simple-history's table changed shape: fail loudly, do not guess
        raise RuntimeError(f"{historical._meta.label} has fields {sorted(actual ^ expected)} this writer does not know")
    tail = (when, "+", None, None)
    writer.write(historical, columns + extra, [row + tail for row in rows])


def writer_for_connection(*, force_bulk_create: bool = False):
    if connection.vendor == "postgresql" and not force_bulk_create:
        return CopyWriter()
    return BulkCreateWriter()


# --------------------------------------------------------------------------------------------
# The seeder

@dataclass
class Chunk:
    sales: list[tuple] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)
    payments: list[tuple] = field(default_factory=list)
    sessions: list[tuple] = field(default_factory=list)


class DemoSeeder:
    def __init__(
        self,
        *,
        merchants: int,
        sales_per_merchant: int,
        seed: int,
        as_of: date,
        chunk_size: int = 20_000,
        force_bulk_create: bool = False,
        progress: Callable[[str], None] | None = None,
    ):
        if merchants < 1:
            raise ValueError("at least one merchant")
        self.n_merchants = merchants
        self.sales_per_merchant = max(0, sales_per_merchant)
        self.seed = seed
        self.as_of = as_of
        self.chunk_size = max(1, chunk_size)
        self.writer = writer_for_connection(force_bulk_create=force_bulk_create)
        self.progress = progress or (lambda message: None)
        self.customers_per_merchant = min(400, max(20, self.sales_per_merchant // 20))
        self.sessions_per_merchant = min(300, max(10, self.sales_per_merchant // 40))
        self.rng = random.Random(f"{seed}:merchants")
        self.result = SeedResult(method=self.writer.method)
        self.today_start = datetime(as_of.year, as_of.month, as_of.day, tzinfo=JAKARTA)

    # ---- small path ------------------------------------------------------------------------

    def run(self) -> SeedResult:
        started = time.perf_counter()
        n_customers = self.n_merchants * self.customers_per_merchant
        self.pools = Pools(seed=self.seed, persons=max(200, int(n_customers * 0.6)), walk_ins=400 + n_customers // 10)
        # The JUNOPOS app's staff passwords: one hash per run, fixed salt, so runs are identical.
        self.staff_password_hash = make_password("kasir-demo-2026", salt="junoposdemo2026")
        with transaction.atomic():
            plans = self._create_merchants()
        bulk_started = time.perf_counter()
        self._load_bulk(plans)
        self.result.bulk_seconds = time.perf_counter() - bulk_started
        self.result.seconds = time.perf_counter() - started
        return self.result

    def _merchant_profile(self, i: int) -> dict:
        n = self.n_merchants
        long_ago = max(1, round(n * 0.15)) if n >= 3 else 0
        recent = max(1, round(n * 0.15)) if n >= 2 else 0
        profile = {"churn": None, "country": "ID", "language": "id"}
        if i >= n - long_ago:
            profile["churn"] = ("long ago", 400 + self.rng.randrange(280))
        elif i >= n - long_ago - recent:
            profile["churn"] = ("recently", RECENT_CHURN_DAYS[(i - (n - long_ago - recent)) % len(RECENT_CHURN_DAYS)])
        if i == (4 if n > 4 else n - 1):
            profile.update(country="NL", language="en")
        return profile

    def _create_merchants(self) -> list[MerchantPlan]:
        rng, pools = self.rng, self.pools
        featured = self.n_merchants >= FEATURED_MIN_MERCHANTS
        cross = {p.name: CrossPerson(p) for p in (SITI, BUDI, DEWI)} if featured else {}
        names_used: set[str] = set()
        plans: list[MerchantPlan] = []
        for i in range(self.n_merchants):
            profile = self._merchant_profile(i)
            city, region, lat, lon, areas = CITIES[rng.randrange(len(CITIES))]
            business_type = list(MENUS)[rng.randrange(len(MENUS))]
            prefix, templates, menu = MENUS[business_type]
            gender = rng.choice("FM")
            first, last, owner_name = pools.name(rng, gender)
            birth = date(1965, 1, 1) + timedelta(days=rng.randrange(365 * 35))
            national = pools.phone(rng)
            owner_phone = phone_forms(national)[rng.choice(PHONE_STYLES)]
            owner_email = pools.email(rng, first, last)
            id_number = nik(rng, region, birth, gender)
            if featured and i == 2:  # Budi Santoso owns the third shop
                gender, first, last, owner_name, birth = "M", "Budi", "Santoso", BUDI.name, BUDI.birth_date
                business_type = "Toko kelontong"
                prefix, templates, menu = MENUS[business_type]
                owner_phone = phone_forms(BUDI.national)["local_dashed"]
                owner_email = BUDI.email
                id_number = nik(rng, region, birth, gender)
            if profile["country"] != "ID":  # a Dutch-owned cafe in Bali
                city, region, lat, lon, areas = next(c for c in CITIES if c[0] == "Denpasar")
                business_type = "Kedai kopi"
                prefix, templates, menu = MENUS[business_type]
                first, last, owner_name, gender = "Daan", "de Vries", "Daan de Vries", "M"
                owner_phone, owner_email = "+31 6 4123 8765", "daan@koffiebarcanggu.com"
                id_number = "NW8K2L4P1"  # passport
            business_name = rng.choice(templates).format(first=first, last=last)
            if profile["country"] != "ID":
                business_name = "Koffie Bar Canggu"
            while business_name in names_used:
                business_name = f"{business_name} {rng.choice(areas)}"
            names_used.add(business_name)

            churn = profile["churn"]
            if churn is None:
                churned_at = None
                started_days = 90 + rng.randrange(1000)
            else:
                churned_at = self.today_start - timedelta(days=churn[1]) + timedelta(hours=10)
                started_days = churn[1] + 120 + rng.randrange(800)
            started_at = self.today_start - timedelta(days=started_days) + timedelta(hours=9)
            office = pools.address(rng, city)
            merchant = services.merchant_create(
                business_name=business_name,
                business_type=business_type,
                tax_number=npwp(rng),
                owner_name=owner_name,
                owner_gender=gender,
                owner_birth_date=birth,
                owner_id_number=id_number,
                owner_email=owner_email,
                owner_phone=owner_phone,
                office_address=office,
                billing_address=office if rng.random() < 0.7 else pools.address(rng, city),
                plan=rng.choice(PLANS),
                subscription_started_at=started_at,
                churned_at=churned_at,
                preferred_language=profile["language"],
                country_of_origin=profile["country"],
            )
            self.result.merchants += 1
            if churn is not None:
                self.result.churn.setdefault(churn[0], []).append(f"{business_name} ({churn[1]} days ago)")
            else:
                self.result.churn.setdefault("active", []).append(business_name)
            if featured and i == 2:
                cross[BUDI.name].add(f"owner of {business_name}", owner_phone, owner_email)

            # outlets
            outlets = []
            first_area = rng.randrange(len(areas))
            for number in range(1, 1 + rng.choice([1, 1, 2, 2, 3])):
                area = areas[(first_area + number - 1) % len(areas)]
                olat = lat + rng.uniform(-0.03, 0.03)
                olon = lon + rng.uniform(-0.03, 0.03)
                outlet = services.outlet_create(
                    merchant=merchant,
                    name=f"{business_name} {area}",
                    address=pools.address(rng, city),
                    city=city,
                    latitude=Decimal(f"{olat:.6f}"),
                    longitude=Decimal(f"{olon:.6f}"),
                )
                devices = [
                    (f"{rng.getrandbits(64):016x}", *rng.choice(OUTLET_DEVICES)) for _ in range(rng.choice([1, 1, 2]))
                ]
                outlets.append((outlet, OutletPlan(outlet.pk, number, olat, olon, [], devices)))
            self.result.outlets += len(outlets)

            # staff: the owner, a manager, two or three cashiers per outlet
            staff_outlet: dict[int, int] = {}
            personal_devices = []
            usernames: set[str] = set()

            def username(base: str) -> str:
                base = "".join(ch for ch in base.lower() if ch.isalnum() or ch == ".")
                candidate, k = base, 1
                while candidate in usernames:
                    k += 1
                    candidate = f"{base}{k}"
                usernames.add(candidate)
                return candidate

            owner_staff_phone = phone_forms(national)[rng.choice(PHONE_STYLES)]
            if featured and i == 2:
                owner_staff_phone = phone_forms(BUDI.national)["plus"]
                cross[BUDI.name].add(f"owner (app user) at {business_name}", owner_staff_phone)
            if profile["country"] != "ID":
                owner_staff_phone = "+31641238765"
            owner = services.staff_create(
                merchant=merchant, name=owner_name, username=username(first), outlet=None, email=owner_email,
                phone=owner_staff_phone, job_title="Pemilik", authorisation_level=StaffUser.Role.OWNER,
                password_hash=self.staff_password_hash,
            )
            personal_devices.append((owner.pk, f"{rng.getrandbits(64):016x}", *rng.choice(PHONE_DEVICES)))
            staff_outlet[owner.pk] = 0
            mgr_gender = rng.choice("FM")
            mfirst, mlast, mname = pools.name(rng, mgr_gender)
            manager = services.staff_create(
                merchant=merchant, name=mname, username=username(mfirst), outlet=outlets[0][0],
                email=pools.email(rng, mfirst, mlast), phone=phone_forms(pools.phone(rng))[rng.choice(PHONE_STYLES)],
                job_title="Manajer Toko", authorisation_level=StaffUser.Role.MANAGER,
                password_hash=self.staff_password_hash,
            )
            personal_devices.append((manager.pk, f"{rng.getrandbits(64):016x}", *rng.choice(PHONE_DEVICES)))
            staff_outlet[manager.pk] = 0
            staff_count = 2
            for k, (outlet, oplan) in enumerate(outlets):
                if k == 0:
                    oplan.cashier_ids.append(manager.pk)  # the manager also works the till
                for _ in range(rng.choice([2, 2, 3])):
                    cgender = rng.choice("FM")
                    cfirst, clast, cname = pools.name(rng, cgender)
                    cashier = services.staff_create(
                        merchant=merchant, name=cname, username=username(cfirst), outlet=outlet,
                        email=pools.email(rng, cfirst, clast) if rng.random() < 0.5 else "",
                        phone=phone_forms(pools.phone(rng))[rng.choice(PHONE_STYLES)],
                        job_title="Kasir", authorisation_level=StaffUser.Role.CASHIER,
                        password_hash=self.staff_password_hash,
                    )
                    oplan.cashier_ids.append(cashier.pk)
                    staff_outlet[cashier.pk] = k
                    staff_count += 1
            siti_staff = None
            if featured and i == 1:  # Siti Rahayu is a cashier at the second shop
                phone = phone_forms(SITI.national)["local_dashed"]
                siti_staff = services.staff_create(
                    merchant=merchant, name=SITI.name, username=username("siti.rahayu"), outlet=outlets[0][0],
                    email=SITI.email, phone=phone, job_title="Kasir", authorisation_level=StaffUser.Role.CASHIER,
                    password_hash=self.staff_password_hash,
                )
                outlets[0][1].cashier_ids.append(siti_staff.pk)
                staff_outlet[siti_staff.pk] = 0
                staff_count += 1
                cross[SITI.name].add(f"cashier at {business_name}", phone, SITI.email)
            self.result.staff += staff_count

            bank, length, _bins = BANKS[rng.randrange(len(BANKS))]
            services.bank_account_create(
                merchant=merchant, bank_name=bank, account_number=f"{rng.randrange(10**length):0{length}d}",
                account_holder=owner_name.upper(),
            )
            self.result.bank_accounts += 1

            window_end = churned_at.astimezone(JAKARTA).date() if churned_at else self.as_of
            window_start = max(started_at.astimezone(JAKARTA).date(), self.as_of - timedelta(days=730))
            if window_start >= window_end:
                window_start = window_end - timedelta(days=1)
            plan = MerchantPlan(
                index=i, id=merchant.pk, name=business_name, menu_prefix=prefix, menu=menu,
                window_start=window_start, window_end=window_end, outlets=[o for _, o in outlets],
                personal_devices=personal_devices, staff_outlet=staff_outlet, sessions=self.sessions_per_merchant,
            )
            plan.siti_staff = siti_staff.pk if siti_staff else None
            plans.append(plan)

        self._create_customers(plans, cross)
        if featured:
            self._feature(plans, cross)
        self.result.cross_people = list(cross.values())
        return plans

    def _create_customers(self, plans: list[MerchantPlan], cross: dict[str, CrossPerson]) -> None:
        """Loyalty members, drawn from one pool of people: some belong to several shops.

        Written by the bulk writer (COPY on PostgreSQL) with explicit ids, each with its "+"
        history row, as simple-history's bulk_create_with_history would write it, at a
        fraction of the cost (40,000 members: about a second instead of twenty).
        """
        rng, pools = self.rng, self.pools
        now = timezone.now()
        total = sum(min(self.customers_per_merchant, len(pools.persons)) for _ in plans)
        next_id = self.writer.reserve_ids(LoyaltyCustomer, total)
        rows = []
        for plan in plans:
            members = rng.sample(pools.persons, min(self.customers_per_merchant, len(pools.persons)))
            for k, person in enumerate(members):
                phone = person.forms[rng.choice(PHONE_STYLES)]
                email = person.email
                if email and rng.random() < 0.05:
                    email = email.capitalize()
                bank, _length, bins = BANKS[rng.randrange(len(BANKS))]
                card = (bank, masked_card(rng, bins))
                rows.append((
                    next_id, plan.id, person.name, person.gender, person.birth_date, phone, person.e164, email or "",
                    f"{7000 + plan.index:04d}{k + 1:08d}", rng.randrange(5000), rng.random() < 0.35, now,
                ))
                plan.customers.append(CustomerRef(next_id, email, phone, person.e164, card))
                next_id += 1
        for start in range(0, len(rows), 20_000):
            batch = rows[start:start + 20_000]
            self.writer.write(LoyaltyCustomer, CUSTOMER_COLUMNS, batch)
            write_history(self.writer, LoyaltyCustomer, CUSTOMER_COLUMNS, batch, when=now)
        self.result.customers += len(rows)

    def _feature(self, plans: list[MerchantPlan], cross: dict[str, CrossPerson]) -> None:
        """Siti, Budi and Dewi: one person each, in several shops, written differently each time."""
        siti, budi, dewi = cross[SITI.name], cross[BUDI.name], cross[DEWI.name]
        a, b, c, d = plans[0], plans[1], plans[2], plans[3]
        sf, bf, df = phone_forms(SITI.national), phone_forms(BUDI.national), phone_forms(DEWI.national)

        def member(plan: MerchantPlan, who: Featured, phone: str, email: str, card: tuple[str, str]) -> CustomerRef:
            customer = services.customer_create(
                merchant=Merchant.objects.get(pk=plan.id), name=who.name, gender=who.gender,
                birth_date=who.birth_date, phone=phone, email=email,
                loyalty_card_number=f"{7000 + plan.index:04d}{len(plan.customers) + 1:08d}",
                points=1200, accepts_marketing=True,
            )
            ref = CustomerRef(customer.pk, email, phone, customer.phone_e164, card)
            plan.customers.append(ref)
            self.result.customers += 1
            return ref

        siti_card = ("BCA", "4556 12** **** 7781")
        budi_card = ("Mandiri", "5264 90** **** 1029")
        # Siti: a loyalty customer of three shops, her phone and e-mail written three ways.
        s_a = member(a, SITI, sf["local"], "siti.rahayu@gmail.com", siti_card)
        s_b = member(b, SITI, sf["country"], "Siti.Rahayu@gmail.com", siti_card)
        s_c = member(c, SITI, sf["plus_dashed"], "SITI.RAHAYU@GMAIL.COM", siti_card)
        siti.add(f"loyalty customer of {a.name}", sf["local"], "siti.rahayu@gmail.com")
        siti.add(f"loyalty customer of {b.name}", sf["country"], "Siti.Rahayu@gmail.com")
        siti.add(f"loyalty customer of {c.name}", sf["plus_dashed"], "SITI.RAHAYU@GMAIL.COM")
        # Budi: owns the third shop, a loyalty customer of two others.
        b_a = member(a, BUDI, bf["local"], "budi.santoso@yahoo.co.id", budi_card)
        b_d = member(d, BUDI, bf["plus_spaced"], "Budi.Santoso@yahoo.co.id", budi_card)
        budi.add(f"loyalty customer of {a.name}", bf["local"], "budi.santoso@yahoo.co.id")
        budi.add(f"loyalty customer of {d.name}", bf["plus_spaced"], "Budi.Santoso@yahoo.co.id")

        def receipt(email=None, phone=None):
            return {"receipt": (email, phone, normalize_phone(phone) if phone else None)}

        specs = {
            a.index: [{"customer": s_a}, {"customer": s_a, **receipt(email="siti.rahayu@gmail.com")},
                      {"customer": b_a, **receipt(phone=bf["local"])},
                      receipt(email=DEWI.email, phone=df["local_dashed"])],
            b.index: [{"customer": s_b, **receipt(phone=sf["country"])}, {"cashier": (0, b.siti_staff)},
                      receipt(phone=bf["country"])],
            c.index: [{"customer": s_c, **receipt(email="SITI.RAHAYU@GMAIL.COM")}, receipt(phone=df["plus"])],
            d.index: [receipt(email="Siti.Rahayu@Gmail.com"), {"customer": b_d},
                      receipt(email=DEWI.email.upper(), phone=df["country"])],
        }
        siti.add(f"digital receipts (e-mail) at {d.name}", None, "Siti.Rahayu@Gmail.com")
        budi.add(f"WhatsApp receipts at {b.name}", bf["country"])
        dewi.add(f"digital receipts at {a.name}", df["local_dashed"], DEWI.email)
        dewi.add(f"digital receipts at {c.name}", df["plus"])
        dewi.add(f"digital receipts at {d.name}", df["country"], DEWI.email.upper())
        S = self.sales_per_merchant
        for plan in (a, b, c, d):
            todo = specs[plan.index]
            times = max(1, min(6, S // (4 * len(todo))))
            slots = len(todo) * times
            for t in range(times):
                for j, spec in enumerate(todo):
                    index = ((t * len(todo) + j) * S) // slots if S else 0
                    if index < S:
                        plan.featured[index] = spec

    # ---- bulk path -------------------------------------------------------------------------

    def _load_bulk(self, plans: list[MerchantPlan]) -> None:
        """Generate chunks in one thread, write them in this one (and a second, see below).

        The generator thread is pure Python (no ORM, no database): it makes chunk k + 1 while
        PostgreSQL ingests chunk k. PostgreSQL is the slower side (index upkeep and foreign-key
        checks), so from the command line the lines go through a second connection in a second
        thread: this thread commits a chunk's sessions, sales and payments, then hands its
        lines to the other, which writes them while this one goes on with the next chunk; the
        lines' foreign keys to their sales are checked at its commit, after the sales' commit.
        Inside a caller's transaction (a test, or `atomic()` around call_command) everything
        goes through the one connection, since a second one could not see uncommitted rows.
        At most four chunks are alive at once (queues of two), so memory stays flat.
        """
        S = self.sales_per_merchant
        total_sales = S * len(plans)
        sale_base = self.writer.reserve_ids(Sale, total_sales)
        payment_base = self.writer.reserve_ids(Payment, total_sales)
        parallel = isinstance(self.writer, CopyWriter) and not connection.in_atomic_block
        self.result.method += ", 2 connections" if parallel else ""
        stop = threading.Event()
        errors: list[BaseException] = []
        chunks: queue.Queue = queue.Queue(maxsize=2)
        line_batches: queue.Queue = queue.Queue(maxsize=2)

        def put(q: queue.Queue, item) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def get(q: queue.Queue):
            while not stop.is_set():
                try:
                    return q.get(timeout=0.2)
                except queue.Empty:
                    continue
            return None

        def produce():
            try:
                for chunk in self._chunks(plans, sale_base, payment_base):
                    if not put(chunks, chunk):
                        return
                put(chunks, None)
            except BaseException as exc:
                errors.append(exc)
                stop.set()

        def write_lines():
            try:
                while (lines := get(line_batches)) is not None:
                    with transaction.atomic():
                        self.writer.write(SaleLine, LINE_COLUMNS, lines)
                    self.result.lines += len(lines)
            except BaseException as exc:
                errors.append(exc)
                stop.set()
            finally:
                connection.close()  # this thread's own connection

        threads = [threading.Thread(target=produce, name="seed-demo-generate", daemon=True)]
        if parallel:
            threads.append(threading.Thread(target=write_lines, name="seed-demo-lines", daemon=True))
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        first_chunk = True
        try:
            while (chunk := get(chunks)) is not None:
                with transaction.atomic():
                    self.writer.write(DeviceSession, SESSION_COLUMNS, chunk.sessions)
                    self.writer.write(Sale, SALE_COLUMNS, chunk.sales)
                    self.writer.write(Payment, PAYMENT_COLUMNS, chunk.payments)
                    if not parallel:
                        self.writer.write(SaleLine, LINE_COLUMNS, chunk.lines)
                        self.result.lines += len(chunk.lines)
                if first_chunk and isinstance(self.writer, CopyWriter):
                    self._analyze()
                    first_chunk = False
                if parallel and not put(line_batches, chunk.lines):
                    break
                self.result.sessions += len(chunk.sessions)
                self.result.sales += len(chunk.sales)
                self.result.payments += len(chunk.payments)
                self._report_progress(started, total_sales)
            if parallel:
                put(line_batches, None)
                threads[1].join()
        except BaseException:
            stop.set()
            raise
        finally:
            for thread in threads:
                thread.join(timeout=30)
        if errors:
            raise errors[0]
        if parallel:  # the last lines were committed after the last report
            self._report_progress(started, total_sales)

    def _analyze(self) -> None:
        """Give the planner real statistics once the first chunk is in.

        Fresh or just-truncated tables have none, and the plans PostgreSQL caches per
        connection for the foreign-key checks are made from what it knows then. Seen: with no
        statistics, the check `sales.id = $1` chose the (merchant_id, id) index, a full index
        scan per line, hours at a million sales. ANALYZE changes the tables' pg_class rows,
        which invalidates those cached plans; the next checks are planned with real numbers.
        Autovacuum would do the same, a minute or so later.
        """
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            for model in (Sale, SaleLine, Payment, DeviceSession, LoyaltyCustomer, StaffUser, Outlet, Merchant):
                cursor.execute(f"ANALYZE {qn(model._meta.db_table)}")

    def _report_progress(self, started: float, total_sales: int) -> None:
        r = self.result
        elapsed = max(time.perf_counter() - started, 1e-9)
        rows = r.sessions + r.sales + r.lines + r.payments
        pct = 100 * r.sales / total_sales if total_sales else 100
        self.progress(
            f"  [{pct:3.0f}%] sales {r.sales:,}/{total_sales:,} · lines {r.lines:,} · payments {r.payments:,}"
            f" · sessions {r.sessions:,} · {elapsed:.0f} s · {rows / elapsed:,.0f} rows/s"
        )

    def _chunks(self, plans: list[MerchantPlan], sale_base: int, payment_base: int) -> Iterator[Chunk]:
        S = self.sales_per_merchant
        self._current = Chunk()
        for plan in plans:
            rng = random.Random(f"{self.seed}:sales:{plan.index}")
            self._sessions(plan, rng, self._current.sessions)
            offset = plan.index * S
            for _ in self._sales(plan, rng, sale_base + offset, payment_base + offset):
                if len(self._current.sales) >= self.chunk_size:
                    full, self._current = self._current, Chunk()
                    yield full
        if self._current.sales or self._current.sessions:
            yield self._current

    def _window_days(self, plan: MerchantPlan) -> list[date]:
        days = (plan.window_end - plan.window_start).days
        return [plan.window_start + timedelta(days=k) for k in range(max(1, days))]

    def _sessions(self, plan: MerchantPlan, rng: random.Random, out: list[tuple]) -> None:
        days = self._window_days(plan)
        staff = list(plan.staff_outlet)
        personal = {staff_id: (device, os_name, model) for staff_id, device, os_name, model in plan.personal_devices}
        for _ in range(plan.sessions):
            staff_id = rng.choice(staff)
            outlet = plan.outlets[plan.staff_outlet[staff_id]]
            if staff_id in personal and rng.random() < 0.7:
                device, os_name, model = personal[staff_id]
                spread = 0.02
            else:
                device, os_name, model = rng.choice(outlet.devices)
                spread = 0.0005
            k = rng.randrange(len(days))
            day = days[k]
            started = datetime(day.year, day.month, day.day, tzinfo=JAKARTA) + timedelta(
                seconds=rng.randrange(6 * 3600, 23 * 3600))
            age = (day - (self.as_of - timedelta(days=730))).days  # newer app versions over time
            version = APP_VERSIONS[min(len(APP_VERSIONS) - 1, age * len(APP_VERSIONS) // 731)]
            if rng.random() < 0.1:
                ip = f"2001:448a:{rng.randrange(0x10000):x}:{rng.randrange(0x10000):x}::{rng.randrange(1, 0x10000):x}"
            else:
                ip = f"{rng.choice(ISP_PREFIXES)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            if rng.random() < 0.1:  # location permission refused
                lat = lon = None
            else:
                lat = f"{outlet.latitude + rng.uniform(-spread, spread):.6f}"
                lon = f"{outlet.longitude + rng.uniform(-spread, spread):.6f}"
            out.append((plan.id, staff_id, device, ip, f"JUNOPOS/{version} ({os_name}; {model})", version, os_name,
                        lat, lon, started))

    def _sales(self, plan: MerchantPlan, rng: random.Random, sale_id: int, payment_id: int):
        """Append this merchant's sales to `self._current`, yielding after each sale.

        The caller swaps in a fresh chunk between sales when one is full, so each sale looks
        the chunk up again.
        """
        S = self.sales_per_merchant
        if S == 0:
            return
        days = self._window_days(plan)
        # Sales per day: weekends busier, the shop growing, day-to-day noise; exactly S in all.
        n_days = len(days)
        weights = [WEEKDAY_FACTOR[d.weekday()] * (0.6 + 0.8 * k / n_days) * (0.7 + 0.6 * rng.random())
                   for k, d in enumerate(days)]
        total_weight = sum(weights)
        menu = plan.menu
        menu_cum, acc = [], 0
        for item in menu:
            acc += item[2]
            menu_cum.append(acc)
        menu_skus = [f"{plan.menu_prefix}-{k + 1:03d}" for k in range(len(menu))]
        outlets = plan.outlets
        outlet_cum = [sum(range(len(outlets), len(outlets) - k - 1, -1)) for k in range(len(outlets))]  # first busiest
        customers = plan.customers
        cust_cum, acc = [], 0.0
        for k in range(len(customers)):  # regulars: a few members come often
            acc += 1.0 / (1 + k % 50) ** 0.7
            cust_cum.append(acc)
        walk_ins = self.pools.walk_ins
        featured = plan.featured
        merchant_id = plan.id
        choices, rand, randrange, choice = rng.choices, rng.random, rng.randrange, rng.choice
        cum, allocated, k = 0.0, 0, 0
        for day, w in zip(days, weights):
            cum += w
            n = round(S * cum / total_weight) - allocated
            if n <= 0:
                continue
            allocated += n
            day_start = datetime(day.year, day.month, day.day, tzinfo=JAKARTA)
            datestr = day.strftime("%Y%m%d")
            seconds = sorted(h * 3600 + randrange(3600) for h in choices(HOURS, cum_weights=HOUR_CUM, k=n))
            line_counts = choices(LINE_COUNTS, cum_weights=LINE_CUM, k=n)
            methods = choices(METHODS, cum_weights=METHOD_CUM, k=n)
            counters = [0] * len(outlets)
            for sec, n_lines, method in zip(seconds, line_counts, methods):
                chunk = self._current
                spec = featured.get(k)
                sold_at = day_start + timedelta(seconds=sec)
                customer = None
                if spec and "cashier" in spec:
                    o_index, cashier_id = spec["cashier"]
                    outlet = outlets[o_index]
                else:
                    outlet = choices(outlets, cum_weights=outlet_cum)[0] if len(outlets) > 1 else outlets[0]
                    cashier_id = choice(outlet.cashier_ids)
                if spec:
                    customer = spec.get("customer")
                elif customers and rand() < 0.3:
                    customer = choices(customers, cum_weights=cust_cum)[0]
                receipt_email = receipt_phone = receipt_e164 = None
                if spec:
                    if "receipt" in spec:
                        receipt_email, receipt_phone, receipt_e164 = spec["receipt"]
                elif customer is not None:
                    if rand() < 0.35:
                        if customer.email and rand() < 0.6:
                            receipt_email = customer.email
                        else:
                            receipt_phone, receipt_e164 = customer.phone, customer.e164
                elif rand() < 0.06:
                    person = choice(walk_ins)
                    if person.email and rand() < 0.5:
                        receipt_email = person.email
                    else:
                        receipt_phone = person.forms[choice(PHONE_STYLES)]
                        receipt_e164 = person.e164
                counters[outlet.number - 1] += 1
                receipt_number = f"INV/{datestr}/O{outlet.number}/{counters[outlet.number - 1]:04d}"
                subtotal = 0
                lines = chunk.lines
                for item_index in choices(range(len(menu)), cum_weights=menu_cum, k=n_lines):
                    product, price, _pop, per_kg = menu[item_index]
                    if per_kg:
                        quantity = randrange(10, 81) / 10  # 1.0 to 8.0 kg
                        line_total = round(price * quantity)
                        quantity = f"{quantity:.1f}"
                    else:
                        quantity = choice(QUANTITIES)
                        line_total = price * quantity
                    subtotal += line_total
                    lines.append((merchant_id, sale_id, product, menu_skus[item_index], quantity, price, line_total))
                tax = (subtotal * PPN_PERCENT + 50) // 100
                total = subtotal + tax
                chunk.sales.append((sale_id, merchant_id, outlet.id, cashier_id, customer.id if customer else None,
                                    receipt_number, receipt_email, receipt_phone, receipt_e164, subtotal, tax, total,
                                    sold_at))
                bank = card = reference = None
                if method == "cash":
                    pass
                elif method == "qris":
                    bank, reference = choice(QRIS_ISSUERS), f"{randrange(10**12):012d}"
                elif method in ("debit", "credit"):
                    if customer is not None:
                        bank, card = customer.card
                    else:
                        bank, _length, bins = choice(BANKS)
                        card = masked_card(rng, bins)
                    reference = f"APPR{randrange(10**6):06d}"
                elif method == "ewallet":
                    bank, code = choice(EWALLETS)
                    reference = f"{code}{randrange(10**12):012d}"
                else:
                    bank = choice(BANKS)[0]
                    reference = f"TRF{randrange(10**10):010d}"
                chunk.payments.append((payment_id, merchant_id, sale_id, method, bank, card, reference, total,
                                       sold_at))
                sale_id += 1
                payment_id += 1
                k += 1
                yield


# --------------------------------------------------------------------------------------------
# Reset and the portal's demo users

def _merchants_models() -> list:
    """The governed tables, children first, then their history tables."""
    from django.apps import apps

    order = [SaleLine, Payment, DeviceSession, Sale, LoyaltyCustomer, "BankAccount", StaffUser, "Outlet", Merchant]
    config = apps.get_app_config("merchants")
    models = [config.get_model(m) if isinstance(m, str) else m for m in order]
    history = [m for m in config.get_models() if m not in models]  # Historical* tables
    return models + history


def _db_referencers(model, among) -> set:
    """The models in `among` (or, with among=None, outside merchants) whose database-level
    foreign keys point at `model`."""
    from django.apps import apps

    found = set()
    for other in apps.get_models() if among is None else among:
        if among is None and other._meta.app_label == "merchants":
            continue
        for f in other._meta.concrete_fields:
            if f.is_relation and f.related_model is model and getattr(f, "db_constraint", False):
                found.add(other)
    return found


def reset_demo_data() -> None:
    """Delete every row of the governed tables and their history (the demo data).

    Tables nothing outside merchants points at go at once: one TRUNCATE on PostgreSQL
    (instant at a million sales), plain DELETEs elsewhere. A table another app points at
    (retention's holds, schedules and run records point at merchants) is deleted through the
    ORM, so those apps' on_delete apply: PROTECT refuses (ProtectedError) rather than lose
    an officer's legal hold, SET_NULL detaches a run record.
    """
    models = _merchants_models()
    history = [m for m in models if m._meta.model_name.startswith("historical")]
    fast = [m for m in models if not _db_referencers(m, None)]
    # A table can only be truncated together with every table that points at it.
    changed = True
    while changed:
        changed = False
        for model in list(fast):
            if any(r not in fast for r in _db_referencers(model, models)):
                fast.remove(model)
                changed = True
    qn = connection.ops.quote_name
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Rows written earlier in this transaction may have deferred FK checks pending,
                # which TRUNCATE refuses: run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("TRUNCATE " + ", ".join(qn(m._meta.db_table) for m in fast))
            else:
                for model in fast:  # children first
                    cursor.execute(f"DELETE FROM {qn(model._meta.db_table)}")
        slow = [m for m in models if m not in fast]
        for model in slow:
            model._default_manager.all().delete()
        if slow:  # the ORM's deletes wrote "-" history rows: the demo's history goes too
            with connection.cursor() as cursor:
                for model in history:
                    cursor.execute(f"DELETE FROM {qn(model._meta.db_table)}")


DEMO_USERS = [
    # username, password, group, superuser
    ("officer", "officer-demo-2026", "Compliance officer", False),
    ("dpo", "dpo-demo-2026", "Data protection officer", False),
    ("auditor", "auditor-demo-2026", "Auditor", False),
    ("admin", "admin-demo-2026", None, True),
]


def ensure_demo_users() -> list[tuple[str, str, str]]:
    """The portal's demo logins, one per group. Groups come from a data migration; a group
    that does not exist yet is created empty, so this works before and after it."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    User = get_user_model()
    logins = []
    for username, password, group_name, superuser in DEMO_USERS:
        user, _created = User.objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = superuser
        user.is_active = True
        user.email = user.email or f"{username}@junopos.demo"
        user.set_password(password)
        user.save()
        if group_name:
            group, _ = Group.objects.get_or_create(name=group_name)
            user.groups.add(group)
        logins.append((username, password, group_name or "superuser"))
    return logins
