"""The data map: the one list of personal data the portal governs.

Each app that owns personal data declares it in its own `datamap.py`, discovered at start-up
the way `admin.py` is. A `datamap.py` is a plug-in into retention, as `admin.py` is into
django.contrib.admin: it is the only module of its app that imports retention, so models,
services and selectors keep the dependency direction `requests_portal -> retention, consent
-> merchants`.

A declaration says, for one model:
- every personal field: its policy category, how a subject is found by it (e-mail, phone,
  merchant) and what erasure does to it (null, mask, keyed hash, or retain);
- every other field, explicitly, as not personal (the system check refuses silence);
- what erasure does to the row: delete it, or keep it anonymised under a retention rule;
- how the row belongs to a merchant (`merchant`) and to a subject found elsewhere
  (`subject_via`: foreign keys to other declared models).

Nothing else in the project may list the tables that hold personal data: the access package,
correction, the erasure of a subject and the purge of a merchant all ask this registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """The eight categories of data named by the JUNOPOS privacy policy."""

    IDENTITY = "identity", _("Identitas")
    IDENTIFICATION = "identification", _("Identifikasi")
    CONTACT = "contact", _("Kontak")
    PROFESSIONAL = "professional", _("Profesional")
    FINANCIAL = "financial", _("Keuangan")
    TRANSACTION = "transaction", _("Transaksi")
    MARKETING = "marketing", _("Pemasaran dan komunikasi")
    TECHNICAL = "technical", _("Data teknis yang dikumpulkan otomatis")


class FindBy(models.TextChoices):
    """How a data subject is found in a field."""

    EMAIL = "email", _("e-mail")
    PHONE = "phone", _("telepon (E.164)")
    MERCHANT = "merchant", _("merchant")


class RowErasure(models.TextChoices):
    DELETE = "delete", _("hapus baris")
    ANONYMISE = "anonymise", _("anonimkan, simpan baris")


class FieldErasure(models.TextChoices):
    DELETE_ROW = "delete_row", _("terhapus bersama baris")
    NULL = "null", _("kosongkan")
    MASK = "mask", _("samarkan")
    HASH = "hash", _("hash berkunci")
    RETAIN = "retain", _("simpan (dasar hukum)")


@dataclass(frozen=True)
class Personal:
    """One personal field.

    `erase` matters only for rows that are kept anonymised; in a deleted row every field goes
    with the row. `normalised` names the companion column a phone lookup compares against.
    """

    category: Category
    find_by: FindBy | None = None
    erase: FieldErasure = FieldErasure.DELETE_ROW
    normalised: str | None = None
    correctable: bool = False


@dataclass
class ModelMap:
    model: type[models.Model]
    personal: dict[str, Personal]
    not_personal: tuple[str, ...]
    erasure: RowErasure = RowErasure.DELETE
    # Key of the retention rule (retention.RetentionRule.key) that keeps anonymised rows.
    retained_under: str | None = None
    # ORM path from this model to the merchant that owns the row.
    merchant: str | None = "merchant"
    # Foreign keys to other declared models: a row belongs to a subject when the row it
    # points to does (a payment of a customer's sale is the customer's).
    subject_via: tuple[str, ...] = ()
    # ORM path of the date a kept row's retention period runs from (for anonymised rows that
    # are deleted when their own period ends). Lines and payments follow their sale's date so
    # that they go with it.
    dated_by: str | None = None
    description: str = ""

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def db_table(self) -> str:
        return self.model._meta.db_table

    @property
    def categories(self) -> list[str]:
        seen = {p.category for p in self.personal.values()}
        return [c.value for c in Category if c in seen]

    def lookup_columns(self, find_by: FindBy) -> list[str]:
        """Columns a subject identifier of kind `find_by` is compared with."""
        return [p.normalised or name for name, p in self.personal.items() if p.find_by == find_by]

    @property
    def history_model(self) -> type[models.Model] | None:
        """The django-simple-history copy of this model, if it keeps one (it is personal too)."""
        manager = getattr(self.model, "history", None)
        return getattr(manager, "model", None) if manager is not None else None


@dataclass
class Exempt:
    """A model of a governed app that holds no personal data, and why."""

    model: type[models.Model]
    reason: str


@dataclass
class DataMap:
    maps: dict[str, ModelMap] = field(default_factory=dict)
    exempt: dict[str, Exempt] = field(default_factory=dict)
    governed_apps: set[str] = field(default_factory=set)
    # Extension points for what is not a governed table: e.g. the consent ledger (replace the
    # identifier by a keyed hash) or produced files (delete them). Each is a callable
    # `(scope, *, dry_run) -> dict[str, int]` of counts, registered by the app that owns it.
    erasure_hooks: dict[str, object] = field(default_factory=dict)

    def register(
        self,
        model: type[models.Model],
        *,
        personal: dict[str, Personal],
        not_personal: Iterable[str] = (),
        **options,
    ) -> ModelMap:
        label = model._meta.label
        if label in self.maps or label in self.exempt:
            raise ValueError(f"{label} is declared twice in the data map")
        entry = ModelMap(model=model, personal=dict(personal), not_personal=tuple(not_personal), **options)
        self.maps[label] = entry
        self.governed_apps.add(model._meta.app_label)
        return entry

    def exempt_model(self, model: type[models.Model], *, reason: str) -> None:
        label = model._meta.label
        if label in self.maps or label in self.exempt:
            raise ValueError(f"{label} is declared twice in the data map")
        self.exempt[label] = Exempt(model=model, reason=reason)
        self.governed_apps.add(model._meta.app_label)

    def erasure_hook(self, name: str, hook) -> None:
        if name in self.erasure_hooks:
            raise ValueError(f"erasure hook {name} is registered twice")
        self.erasure_hooks[name] = hook

    def __iter__(self) -> Iterator[ModelMap]:
        return iter(self.maps.values())

    def get(self, model: type[models.Model]) -> ModelMap | None:
        return self.maps.get(model._meta.label)

    def in_dependency_order(self) -> list[ModelMap]:
        """Declared models, each after every declared model it points to (parents first).

        Deletion walks this list backwards; subject lookups walk it forwards so that a
        `subject_via` target is resolved before the model that follows it.
        """
        order: list[ModelMap] = []
        state: dict[str, int] = {}

        def visit(entry: ModelMap) -> None:
            if state.get(entry.label) == 2:
                return
            if state.get(entry.label) == 1:
                raise ValueError(f"the data map has a foreign-key cycle through {entry.label}")
            state[entry.label] = 1
            for f in entry.model._meta.concrete_fields:
                if f.is_relation and f.related_model is not entry.model:
                    target = self.get(f.related_model)
                    if target is not None:
                        visit(target)
            state[entry.label] = 2
            order.append(entry)

        for entry in sorted(self.maps.values(), key=lambda e: e.label):
            visit(entry)
        return order


# The project's data map, filled by every app's datamap.py at start-up.
datamap = DataMap()
