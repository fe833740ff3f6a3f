"""The bulk writers: COPY on PostgreSQL, bulk_create elsewhere.

Both take rows as tuples in a given column order and reserve primary keys up front
(`reserve_ids`), so that rows can point at rows not written yet:

- `CopyWriter`: psycopg 3 `COPY ... FROM STDIN`; ids from the table's sequence
  (`setval(seq, nextval(seq) + n - 1)`);
- `BulkCreateWriter`: the path SQLite (the embedded default) takes, and PostgreSQL with
  `seed_demo --bulk-create`; ids from max(id) + 1;
- `writer_for_connection`: which of the two the current connection gets;
- `write_history`: the "+" simple-history rows for rows written in bulk, through the same
  writer.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Max


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
