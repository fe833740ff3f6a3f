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
- how the row belongs to a merchant (`merchant`; None for records of no merchant, such as
  the portal's own requests) and to a subject found elsewhere (`subject_via`: foreign keys to
  other declared models);
- when a kept row's own period ends (`dated_by`), and which rows of other tables exist only
  for it and end with it (`carries`).

Nothing else in the project may list the tables that hold personal data: the access package,
correction, the erasure of a subject and the purge of a merchant all ask this registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import pseudonyms


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


# -- field erasures ---------------------------------------------------------------------------
#
# Each kind of field erasure is one small strategy object, and the engine (what to write, which
# rows still need it), the dry run (the same rows, counted) and the system check (does it fit
# the column) all ask it: there is no switch over the kinds anywhere else.

TEXT_FIELDS = (models.CharField, models.TextField)
MASK = "[dihapus]"


def _is_text(field) -> bool:
    return isinstance(field, TEXT_FIELDS) and not field.is_relation


def _filled(column: str, field) -> Q:
    """Rows where the column holds something (not NULL, and not '' for text)."""
    condition = Q(**{f"{column}__isnull": False})
    return condition & ~Q(**{column: ""}) if _is_text(field) else condition


@dataclass(frozen=True, eq=False)
class FieldErasure:
    """What erasure does to one field of a row that is kept. Subclasses are the kinds."""

    value: str
    label: str

    def problem(self, field) -> str | None:
        """Why this erasure cannot apply to `field` in a kept row, or None if it can."""
        return None

    def pending(self, column: str, field) -> Q | None:
        """Rows whose `column` still holds what this erasure removes; None if it removes nothing."""
        return None

    def constant(self, field):
        """The value every erased row gets (one UPDATE for a whole batch)."""
        raise TypeError(f"{self.value} sets no constant value: the engine never asks it for one")

    per_row = False  # True when the new value depends on the old one (a keyed hash)

    def __str__(self):
        return str(self.label)


@dataclass(frozen=True, eq=False)
class _DeleteWithRow(FieldErasure):
    def problem(self, field):
        return "is in a table whose rows are kept: say null, mask, hash or retain"


@dataclass(frozen=True, eq=False)
class _Null(FieldErasure):
    def problem(self, field):
        if not (field.null or _is_text(field)):
            return "cannot be emptied: it is neither nullable nor text"
        return None

    def pending(self, column, field):
        return _filled(column, field)

    def constant(self, field):
        return None if field.null else ""


@dataclass(frozen=True, eq=False)
class _Mask(FieldErasure):
    def problem(self, field):
        return None if _is_text(field) else "cannot be masked or hashed: it is not text"

    def pending(self, column, field):
        return _filled(column, field) & ~Q(**{column: MASK})

    def constant(self, field):
        return MASK


@dataclass(frozen=True, eq=False)
class _Hash(FieldErasure):
    per_row = True

    def problem(self, field):
        if not _is_text(field):
            return "cannot be masked or hashed: it is not text"
        if field.max_length is not None and field.max_length < pseudonyms.LENGTH:
            return f"is too short ({field.max_length}) for a keyed hash of {pseudonyms.LENGTH}"
        return None

    def pending(self, column, field):
        return _filled(column, field) & ~pseudonyms.pseudonym_q(column)

    def transform(self, value: str, *, find_by: "FindBy | None") -> str:
        kind = {FindBy.EMAIL: "email", FindBy.PHONE: "phone"}.get(find_by, "text")
        return pseudonyms.pseudonym(value, kind=kind)


@dataclass(frozen=True, eq=False)
class _ByHook(FieldErasure):
    """Replaced by a keyed hash by the erasure hook its table names (`erased_by`), never by the
    engine's own UPDATE: for a table the database lets no one else change (the consent ledger)."""

    def problem(self, field):
        return None  # the hook knows its columns (an IP address is emptied, an address hashed)


@dataclass(frozen=True, eq=False)
class _Retain(FieldErasure):
    """Kept as it is, for a named legal reason and period (the rule of its table)."""


# The kinds a declaration names: FieldErasure.NULL, .MASK, .HASH, .RETAIN, .HOOK (kept rows) and
# .DELETE_ROW (the field goes with its deleted row).
FieldErasure.DELETE_ROW = _DeleteWithRow("delete_row", _("terhapus bersama baris"))
FieldErasure.NULL = _Null("null", _("kosongkan"))
FieldErasure.MASK = _Mask("mask", _("samarkan"))
FieldErasure.HASH = _Hash("hash", _("hash berkunci"))
FieldErasure.RETAIN = _Retain("retain", _("simpan (dasar hukum)"))
FieldErasure.HOOK = _ByHook("hook", _("hash berkunci (oleh pemilik tabel)"))


# Whose a field is, when one row concerns several people (a sale: its buyer and its cashier).
SUBJECT = "subject"


@dataclass(frozen=True)
class Personal:
    """One personal field.

    `erase` matters only for rows that are kept anonymised; in a deleted row every field goes
    with the row. `normalised` names the companion column a phone lookup compares against.
    `party` says whose the field is: a subject erasure changes only the fields of the party
    the subject is in that row (erasing a buyer empties the buyer's link and receipt address
    on her purchases, never the cashier link); a merchant purge changes them all.
    """

    category: Category
    find_by: FindBy | None = None
    erase: FieldErasure = FieldErasure.DELETE_ROW
    normalised: str | None = None
    correctable: bool = False
    party: str = SUBJECT


@dataclass(frozen=True)
class Via:
    """A foreign key to another declared model that ties a row to a person.

    The row's `party` is the person the pointed-to row belongs to as its party `of`: a
    payment's subject is its sale's buyer (`Via("sale", of="buyer")`), not its cashier.
    """

    field: str
    party: str = SUBJECT
    of: str = SUBJECT


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
    # Foreign keys to other declared models that tie a row to a person (strings are read as
    # Via(field)): a row belongs to a subject when the row it points to does.
    subject_via: tuple[Via, ...] = ()
    # ORM path of the date a kept row's retention period runs from (for anonymised rows that
    # are erased when their own period ends, as their rule's action says). Lines and payments
    # follow their sale's date so that they go with it.
    dated_by: str | None = None
    # Foreign keys to rows of other declared tables that exist only for this row (a request's
    # link to a message it sent): they are found with it (a subject's, whoever they went to) and
    # erased with it when its own period ends, each the way its own table declares.
    carries: tuple[str, ...] = ()
    # The erasure hook (DataMap.erasure_hook) that erases the fields declared FieldErasure.HOOK.
    erased_by: str | None = None
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

    def __post_init__(self):
        self.subject_via = tuple(v if isinstance(v, Via) else Via(v) for v in self.subject_via)

    def lookup_columns(self, find_by: FindBy, *, party: str | None = None) -> list[str]:
        """Columns a subject identifier of kind `find_by` is compared with (of one party, or all)."""
        return [
            p.normalised or name for name, p in self.personal.items()
            if p.find_by == find_by and (party is None or p.party == party)
        ]

    @property
    def parties(self) -> list[str]:
        """The people a row of this table can concern, each found by its identifiers or a Via."""
        found = {p.party for p in self.personal.values() if p.find_by} | {v.party for v in self.subject_via}
        return sorted(found)

    def fields_of(self, party: str | None) -> list[str]:
        """Personal fields of one party (None: every personal field)."""
        return [name for name, p in self.personal.items() if party is None or p.party == party]

    def column(self, name: str) -> tuple[str, models.Field]:
        f = self.model._meta.get_field(name)
        return (f.attname if f.is_relation else name), f

    def erased_values(self, row) -> dict[str, object]:
        """What erasing one kept row the declared way writes, column by column (for an UPDATE of
        that row and its history copies): constants, and keyed hashes of its own values. The
        engine does the same in batches; this is for a service that erases one row in its own
        transaction (an unverified request that expires)."""
        values: dict[str, object] = {}
        for name, spec in self.personal.items():
            column, f = self.column(name)
            if spec.erase.pending(column, f) is None:
                continue  # retained, or erased by the table's hook
            current = getattr(row, column)
            if spec.erase.per_row:
                if current and not pseudonyms.is_pseudonym(current):
                    values[column] = spec.erase.transform(current, find_by=spec.find_by)
            else:
                values[column] = spec.erase.constant(f)
        return values

    def pending(self, fields: Iterable[str] | None = None) -> Q | None:
        """Kept rows that still hold something the erasure of `fields` removes; None if nothing can."""
        condition = Q()
        for name in self.personal if fields is None else fields:
            column, f = self.column(name)
            more = self.personal[name].erase.pending(column, f)
            if more is not None:
                condition |= more
        return condition or None

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
        return entry

    def exempt_model(self, model: type[models.Model], *, reason: str) -> None:
        label = model._meta.label
        if label in self.maps or label in self.exempt:
            raise ValueError(f"{label} is declared twice in the data map")
        self.exempt[label] = Exempt(model=model, reason=reason)

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
