"""Reads for a correction request: which fields the data map lets the requester correct, where.

A field is correctable when its table's declaration marks it so (`Personal.correctable`), and a
row is the requester's when the data map finds her in it as the party that field belongs to,
by the request's e-mail and phone, once her identity is verified. Nothing here names a table:
the list is the data map's. One query per declared table with correctable fields, whatever the
number of rows.

Values are compared and stored as text, the way `Field.value_to_string` writes them (a date as
ISO, a foreign key as its id), so that a value read now can be compared with one proposed days ago.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, Q, Value, When
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from retention.registry import DataMap, ModelMap, datamap
from retention.selectors import subject_conditions

from .models import DataSubjectRequest


@dataclass(frozen=True)
class CorrectableField:
    label: str  # the model's label, "merchants.LoyaltyCustomer"
    model_name: str  # its verbose name
    pk: int
    field: str
    verbose_name: str
    value: str  # as text (value_to_string)
    shown: str  # as a person reads it (a foreign key's row, a choice's label)
    merchant_id: int | None

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.label, self.pk, self.field)


def correctable_entries(registry: DataMap = datamap) -> list[tuple[ModelMap, list[str]]]:
    """Declared tables with correctable fields, and those fields, in the data map's order."""
    found = []
    for entry in registry.in_dependency_order():
        names = [name for name, p in entry.personal.items() if p.correctable]
        if names:
            found.append((entry, names))
    return found


def _identity(request: DataSubjectRequest) -> tuple[str | None, str | None]:
    return (request.email or None, request.phone or None)


def correctable_conditions(request: DataSubjectRequest, *, registry: DataMap = datamap) -> dict[str, dict[str, Q]]:
    """Per table with correctable fields, per field, the rows of the request's verified identity
    in which that field is hers (the field's party). Nothing for an unverified request."""
    if request.verified_at is None:
        return {}
    email, phone = _identity(request)
    conditions = subject_conditions(email=email, phone=phone, registry=registry)
    found: dict[str, dict[str, Q]] = {}
    for entry, names in correctable_entries(registry):
        per_party = conditions.get(entry.label)
        if not per_party:
            continue
        fields = {name: per_party[entry.personal[name].party] for name in names if entry.personal[name].party in per_party}
        if fields:
            found[entry.label] = fields
    return found


def value_text(instance, name: str) -> str:
    """A field's value as stored in a correction item."""
    f = instance._meta.get_field(name)
    return f.value_to_string(instance) if getattr(instance, f.attname) is not None else ""


def value_shown(instance, name: str) -> str:
    """A field's value as a person reads it (in the active language)."""
    f = instance._meta.get_field(name)
    value = getattr(instance, name)
    if value is None or value == "":
        return "-"
    if f.choices:
        return str(getattr(instance, f"get_{name}_display")())
    if isinstance(value, bool):
        return _("ya") if value else _("tidak")
    return str(value)


def shown_from_text(model: type, name: str, text: str) -> str:
    """A stored value as a person reads it."""
    instance = model()
    try:
        setattr(instance, name, value_from_text(model, name, text))
    except ValidationError:
        return text
    return value_shown(instance, name)


def value_from_text(model: type, name: str, text: str):
    """A stored text back into the value the field takes (a foreign key: its row)."""
    f = model._meta.get_field(name)
    text = text.strip() if isinstance(text, str) else text
    if text in ("", None):
        if f.null:
            return None
        if f.is_relation:
            raise ValidationError({name: f.error_messages["null"]})
        return ""
    if f.is_relation:
        row = f.related_model._default_manager.filter(pk=f.target_field.to_python(text)).first()
        if row is None:
            raise ValidationError({name: f.error_messages["invalid"] % {
                "model": f.related_model._meta.verbose_name, "pk": text, "field": "pk", "value": text,
            }})
        return row
    return f.to_python(text)


def correctable_fields(request: DataSubjectRequest, *, registry: DataMap = datamap) -> list[CorrectableField]:
    """Every correctable field of every row the data map finds for the request's verified identity."""
    found = []
    for label, per_field in correctable_conditions(request, registry=registry).items():
        entry = registry.maps[label]
        model = entry.model
        rows_of_any = Q()
        for condition in per_field.values():
            rows_of_any |= condition
        related = [n for n in per_field if model._meta.get_field(n).is_relation]
        merchant_path = entry.merchant if entry.merchant else None
        queryset = model._default_manager.filter(rows_of_any).select_related(*related).order_by("pk")
        for row in queryset:
            for name in per_field:
                f = model._meta.get_field(name)
                found.append(CorrectableField(
                    label=label, model_name=str(capfirst(model._meta.verbose_name)), pk=row.pk, field=name,
                    verbose_name=str(capfirst(f.verbose_name)), value=value_text(row, name),
                    shown=value_shown(row, name), merchant_id=_merchant_of(row, merchant_path),
                ))
    return found


def _merchant_of(row, path: str | None) -> int | None:
    if not path:
        return None
    if path == "id":
        return row.pk
    if "__" not in path:
        return getattr(row, f"{path}_id", None)
    return None


def correctable_rows(
    request: DataSubjectRequest, *, label: str, pks: list[int], for_update: bool = False, registry: DataMap = datamap,
) -> dict[int, tuple[object, frozenset[str]]]:
    """The rows among `pks` of table `label`, each with the fields in it that are correctable and
    the requester's (a row that is not hers at all is missing from the answer). One query."""
    per_field = correctable_conditions(request, registry=registry).get(label, {})
    if not pks or not per_field:
        return {}
    model = registry.maps[label].model
    flags = {
        f"correctable_{name}": Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())
        for name, condition in per_field.items()
    }
    queryset = model._default_manager.filter(pk__in=pks).annotate(**flags)
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    found = {}
    for row in queryset:
        fields = frozenset(name for name in per_field if getattr(row, f"correctable_{name}"))
        if fields:
            found[row.pk] = (row, fields)
    return found
