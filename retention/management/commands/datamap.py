import csv
import sys

from django.core.management.base import BaseCommand

from retention.inventory import InventoryRow, inventory_rows
from retention.registry import datamap


class Command(BaseCommand):
    help = (
        "Print the inventory of personal data (table, field, category, lookup, erasure, legal "
        "basis): the record of processing a regulator asks for."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["table", "csv"], default="table")

    def handle(self, *args, format, **options):
        rows = inventory_rows()
        if format == "csv":
            writer = csv.writer(self.stdout)
            writer.writerow(InventoryRow.HEADERS)
            writer.writerows(row.as_tuple() for row in rows)
            return
        columns = ("table", "field", "category", "lookup", "erasure", "retention_rule", "legal_basis", "period")
        widths = {c: max([len(c)] + [len(str(getattr(r, c))) for r in rows]) for c in columns}
        widths["legal_basis"] = min(widths["legal_basis"], 60)

        def line(values):
            return "  ".join(str(v)[: widths[c]].ljust(widths[c]) for c, v in zip(columns, values)).rstrip()

        self.stdout.write(line(columns))
        self.stdout.write(line(["-" * widths[c] for c in columns]))
        for row in rows:
            self.stdout.write(line([getattr(row, c) for c in columns]))
        tables = len({r.table for r in rows})
        self.stdout.write("")
        self.stdout.write(
            f"{len(rows)} personal fields in {tables} tables; "
            f"{sum(1 for e in datamap if e.history_model)} tables also keep a history copy, erased the same way."
        )
