"""The bulk rows: device sessions, sales, lines and payments, generated in chunks.

`SalesGenerator.chunks(plans, sale_base, payment_base)` turns the merchant plans made by the
small path into `Chunk`s of row tuples, in the column orders below, ready for a writer. It is
pure Python (no ORM, no database), so the loader runs it in a thread of its own.

Each merchant's rows come from its own `random.Random(f"{seed}:sales:{index}")`, so one
merchant's rows do not depend on another's or on the chunk size. Sales are spread over the
merchant's window (weekends busier, the shop growing, day-to-day noise, exactly
`sales_per_merchant` in all), at opening hours, with 1 to 5 lines, PPN and one payment each;
the featured people's sales are placed at fixed indexes (`MerchantPlan.featured`). Sale and
payment ids are explicit, from ranges the caller reserved; lines and sessions take theirs from
the identity column.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .plans import MerchantPlan
from .pools import PHONE_STYLES, Pools, masked_card
from .reference import (
    APP_VERSIONS, BANKS, EWALLETS, HOUR_CUM, HOURS, ISP_PREFIXES, JAKARTA, LINE_COUNTS, LINE_CUM, METHOD_CUM, METHODS,
    PPN_PERCENT, QRIS_ISSUERS, QUANTITIES, WEEKDAY_FACTOR,
)

SALE_COLUMNS = ("id", "merchant_id", "outlet_id", "cashier_id", "customer_id", "receipt_number", "receipt_email",
                "receipt_phone", "receipt_phone_e164", "subtotal", "tax", "total", "sold_at")
LINE_COLUMNS = ("merchant_id", "sale_id", "product_name", "sku", "quantity", "unit_price", "line_total")
PAYMENT_COLUMNS = ("id", "merchant_id", "sale_id", "method", "bank_name", "card_masked", "reference", "amount",
                   "paid_at")
SESSION_COLUMNS = ("merchant_id", "staff_id", "device_id", "ip_address", "user_agent", "app_version", "os_name",
                   "latitude", "longitude", "started_at")


@dataclass
class Chunk:
    """One chunk's rows, as tuples in the column orders above."""

    sales: list[tuple] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)
    payments: list[tuple] = field(default_factory=list)
    sessions: list[tuple] = field(default_factory=list)


class SalesGenerator:
    """Sessions, sales, lines and payments for a list of merchant plans, `chunk_size` sales at a time."""

    def __init__(self, *, seed: int, sales_per_merchant: int, chunk_size: int, as_of: date, pools: Pools):
        self.seed = seed
        self.sales_per_merchant = sales_per_merchant
        self.chunk_size = chunk_size
        self.as_of = as_of
        self.pools = pools

    def chunks(self, plans: list[MerchantPlan], sale_base: int, payment_base: int) -> Iterator[Chunk]:
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
