"""The record of processing activities: the data map flattened into rows, one per field."""

from __future__ import annotations

from dataclasses import dataclass

from .models import RetentionRule
from .registry import DataMap, FieldErasure, RowErasure, datamap


@dataclass(frozen=True)
class InventoryRow:
    table: str
    model: str
    field: str
    category: str
    lookup: str
    erasure: str
    retention_rule: str
    legal_basis: str
    period: str
    history_table: str

    HEADERS = (
        "table", "model", "field", "category", "lookup", "erasure",
        "retention_rule", "legal_basis", "period", "history_table",
    )

    def as_tuple(self) -> tuple[str, ...]:
        return tuple(getattr(self, h) for h in self.HEADERS)


def inventory_rows(registry: DataMap = datamap) -> list[InventoryRow]:
    """One row per personal field of every declared table, sorted by table and field.

    One query, for the retention rules the map refers to.
    """
    rules = {r.key: r for r in RetentionRule.objects.all()}
    rows: list[InventoryRow] = []
    for entry in sorted(registry, key=lambda e: e.db_table):
        rule = rules.get(entry.retained_under or "")
        history = entry.history_model._meta.db_table if entry.history_model else ""
        for name, spec in sorted(entry.personal.items()):
            if entry.erasure == RowErasure.DELETE:
                erasure = FieldErasure.DELETE_ROW
            else:
                erasure = spec.erase
            keeps = erasure == FieldErasure.RETAIN or entry.erasure == RowErasure.ANONYMISE
            lookup = spec.find_by.value if spec.find_by else ""
            if spec.normalised:
                lookup = f"{lookup} ({spec.normalised})"
            rows.append(
                InventoryRow(
                    table=entry.db_table,
                    model=entry.label,
                    field=name,
                    category=spec.category.value,
                    lookup=lookup,
                    erasure=erasure.value,
                    retention_rule=(entry.retained_under or "") if keeps else "",
                    legal_basis=(rule.legal_basis if rule else "") if keeps else "",
                    period=(rule.period_display if rule else "") if keeps else "",
                    history_table=history,
                )
            )
    return rows
