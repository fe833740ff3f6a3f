"""Plain data passed between the steps of a run.

- `OutletPlan`, `CustomerRef`, `MerchantPlan`: what the small path (merchants.services, row by
  row) hands to the bulk generator for one merchant: ids, menu, sales window, outlets with
  their cashiers and devices, loyalty members, the featured sales. No ORM objects, since the
  generator runs in a thread of its own;
- `CrossPerson`: where one featured person was written, for the command's closing list;
- `SeedResult`: what a run wrote and how long it took, as the command reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .pools import Featured


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
