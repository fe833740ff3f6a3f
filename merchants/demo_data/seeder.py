"""`DemoSeeder`: one run of `seed_demo`, and its small path.

`DemoSeeder(...).run()` makes the pools (pools.py), then, in one transaction, the merchants
with their outlets, staff and bank account through merchants.services (validated, each with
its "+" history row), the loyalty members in bulk (`_create_customers`), and the featured
people's places (`_feature`); it returns one `MerchantPlan` per merchant (plans.py). Then the
bulk phase: `SalesGenerator` (sales.py) makes the sessions, sales, lines and payments from
those plans and `BulkLoader` (loader.py) writes them with the writer of the connection
(writers.py). The counts go into a `SeedResult`, which the command prints.

The small path draws from one `random.Random(f"{seed}:merchants")`, in merchant order: any
change to the order of its draws changes every seed's rows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from .. import services
from ..identifiers import normalize_phone
from ..models import LoyaltyCustomer, Merchant, StaffUser
from .loader import BulkLoader
from .plans import CrossPerson, CustomerRef, MerchantPlan, OutletPlan, SeedResult
from .pools import (
    BUDI, DEWI, FEATURED_MIN_MERCHANTS, PHONE_STYLES, SITI, Featured, Pools, masked_card, nik, npwp, phone_forms,
)
from .reference import BANKS, CITIES, JAKARTA, MENUS, OUTLET_DEVICES, PHONE_DEVICES, PLANS, RECENT_CHURN_DAYS
from .sales import SalesGenerator
from .writers import write_history, writer_for_connection

CUSTOMER_COLUMNS = ("id", "merchant_id", "name", "gender", "birth_date", "phone", "phone_e164", "email",
                    "loyalty_card_number", "points", "accepts_marketing", "created_at")


class DemoSeeder:
    """One seed_demo run: `DemoSeeder(merchants=..., sales_per_merchant=..., seed=..., as_of=...).run()`."""

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

    def run(self) -> SeedResult:
        started = time.perf_counter()
        n_customers = self.n_merchants * self.customers_per_merchant
        self.pools = Pools(seed=self.seed, persons=max(200, int(n_customers * 0.6)), walk_ins=400 + n_customers // 10)
        # The JUNOPOS app's staff passwords: one hash per run, fixed salt, so runs are identical.
        self.staff_password_hash = make_password("kasir-demo-2026", salt="junoposdemo2026")
        with transaction.atomic():
            plans = self._create_merchants()
        bulk_started = time.perf_counter()
        generator = SalesGenerator(seed=self.seed, sales_per_merchant=self.sales_per_merchant,
                                   chunk_size=self.chunk_size, as_of=self.as_of, pools=self.pools)
        BulkLoader(self.writer, self.result, self.progress).load(plans, generator)
        self.result.bulk_seconds = time.perf_counter() - bulk_started
        self.result.seconds = time.perf_counter() - started
        return self.result

    # ---- small path: merchants, outlets, staff, bank accounts, loyalty members ---------------

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

