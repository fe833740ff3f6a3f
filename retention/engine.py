"""The erasure engine: the one way personal data leaves the governed tables.

Safety design
- Driven only by the data map (retention.registry): it names no table. A scope is one
  merchant (a purge), one data subject (by e-mail and/or phone, optionally within one
  merchant), or the kept rows of a merchant whose retention period has ended (expiry).
- Children before parents: tables are processed in reverse dependency order, so a payment is
  anonymised while its sale still identifies the subject, and no row is deleted while a kept
  row still points to it (a nullable reference is cleared first: that is an anonymisation of
  the referring row, counted as such).
- Batches of ERASURE_BATCH_SIZE primary keys, walked in key order (keyset, not OFFSET), each batch
  one transaction in which the caller also records counts and progress (`on_batch`), so a
  kill loses only the batch in flight, which rolls back. Only one batch of keys is in memory.
- Re-runnable at any point: every step selects only rows that still need it (deleted rows
  are gone, anonymised rows no longer match, keyed hashes are never hashed again), so a
  second run finishes the first one's work and then does nothing.
- `should_proceed()` is asked before every batch: a reactivation or a legal hold placed
  mid-run stops the engine at the next batch, with the reason.
- No Django cascade collector: deletes are SQL on primary keys, anonymisation is
  QuerySet.update(). Neither writes simple-history rows, deliberately: the engine erases the
  history copies itself (they are personal data too), and the run record is the history of
  what it did, as counts per table and action, never content.
- Dry run: the same counts, from COUNT queries over exactly the rows the run would touch;
  nothing is written.
- Extension point: apps register erasure hooks in their datamap.py for what is not a
  governed table (the consent ledger, produced files); the engine calls each with the scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from merchants.identifiers import normalize_email, normalize_phone

from .pseudonyms import is_pseudonym, pseudonym
from .registry import DataMap, FieldErasure, FindBy, ModelMap, RowErasure, datamap
from .selectors import identifier_condition, subject_querysets

MASK = "[dihapus]"

DELETED = "deleted"
ANONYMISED = "anonymised"

Counts = dict[str, dict[str, int]]


class ErasureRefused(Exception):
    """The data cannot be erased as asked (a kept row still needs it); nothing was changed."""


@dataclass(frozen=True)
class Scope:
    merchant_id: int | None = None
    email: str | None = None
    phone: str | None = None
    # Merchants whose rows a subject erasure must leave alone (a legal hold covers them).
    exclude_merchants: frozenset[int] = frozenset()
    # Expiry: the rule whose kept rows are deleted, and the date before which they are.
    expiry_rule: str | None = None
    expiry_before: datetime | None = None

    @classmethod
    def merchant(cls, merchant_id: int) -> Scope:
        return cls(merchant_id=merchant_id)

    @classmethod
    def subject(cls, *, email=None, phone=None, merchant_id=None, exclude_merchants=()) -> Scope:
        email, phone = normalize_email(email), normalize_phone(phone)
        if not email and not phone:
            raise ValueError("a subject is found by a valid e-mail or phone")
        return cls(merchant_id=merchant_id, email=email, phone=phone, exclude_merchants=frozenset(exclude_merchants))

    @classmethod
    def expiry(cls, *, merchant_id: int, rule_key: str, before: datetime) -> Scope:
        return cls(merchant_id=merchant_id, expiry_rule=rule_key, expiry_before=before)

    @property
    def is_subject(self) -> bool:
        return bool(self.email or self.phone)

    @property
    def is_expiry(self) -> bool:
        return self.expiry_rule is not None


@dataclass
class Result:
    counts: Counts = field(default_factory=dict)
    completed: bool = False
    stopped_reason: str = ""

    @property
    def total(self) -> int:
        return total_rows(self.counts)


def total_rows(counts: Counts) -> int:
    """Rows changed, over every table and action."""
    return sum(n for actions in counts.values() for n in actions.values())


def merge_counts(into: Counts, more: Counts) -> Counts:
    for table, actions in more.items():
        for action, n in actions.items():
            _add(into, table, action, n)
    return into


def _add(counts: Counts, table: str, action: str, n: int) -> None:
    if n:
        counts.setdefault(table, {})
        counts[table][action] = counts[table].get(action, 0) + n


class Erasure:
    """Erase one scope. `run()` changes data; `count()` is the dry run."""

    def __init__(
        self,
        scope: Scope,
        *,
        registry: DataMap = datamap,
        batch_size: int | None = None,
        should_proceed: Callable[[], str | None] | None = None,
        on_batch: Callable[[Counts, int], None] | None = None,
    ):
        self.scope = scope
        self.registry = registry
        # Rows per batch, each batch one transaction: settings.ERASURE_BATCH_SIZE unless given.
        self.batch_size = batch_size or settings.ERASURE_BATCH_SIZE
        # Returns None to go on, or the reason to stop.
        # on_batch(counts, rows) runs inside each batch's transaction; rows = rows changed.
        self.should_proceed = should_proceed or (lambda: None)
        self.on_batch = on_batch or (lambda counts, rows: None)
        self._subject_rows = (
            subject_querysets(email=scope.email, phone=scope.phone, merchant_id=scope.merchant_id, registry=registry)
            if scope.is_subject
            else {}
        )

    # -- what is in scope ---------------------------------------------------------------

    def action(self, entry: ModelMap) -> str | None:
        if self.scope.is_expiry:
            if entry.retained_under == self.scope.expiry_rule and entry.dated_by:
                return RowErasure.DELETE
            return None
        return entry.erasure

    def rows(self, entry: ModelMap) -> QuerySet | None:
        """The live rows of `entry` in scope (for anonymisation: before the needs filter)."""
        if not entry.merchant:
            return None
        if self.scope.is_subject:
            queryset = self._subject_rows.get(entry.label)
            if queryset is None:
                return None
            if self.scope.exclude_merchants:
                queryset = queryset.exclude(**{f"{entry.merchant}__in": self.scope.exclude_merchants})
            return queryset
        queryset = entry.model._default_manager.filter(**{entry.merchant: self.scope.merchant_id})
        if self.scope.is_expiry:
            queryset = queryset.filter(**{f"{entry.dated_by}__lt": self.scope.expiry_before})
        return queryset

    def history_rows(self, entry: ModelMap) -> QuerySet | None:
        """History copies the run reaches besides those of the live rows it erases.

        Merchant scope: every copy carrying the merchant (of rows deleted long ago too).
        Subject scope: every copy holding the subject's e-mail or phone.
        """
        history = entry.history_model
        if history is None or self.scope.is_expiry or not entry.merchant:
            return None
        if self.scope.is_subject:
            condition = identifier_condition(entry, email=self.scope.email, phone=self.scope.phone)
            if not condition:
                return None
            queryset = history._default_manager.filter(condition)
            if self.scope.merchant_id is not None:
                queryset = queryset.filter(**{entry.merchant: self.scope.merchant_id})
            if self.scope.exclude_merchants:
                queryset = queryset.exclude(**{f"{entry.merchant}__in": self.scope.exclude_merchants})
            return queryset
        return history._default_manager.filter(**{entry.merchant: self.scope.merchant_id})

    @staticmethod
    def needs_erasure(entry: ModelMap) -> Q | None:
        """Rows of a kept table that still hold something the data map erases; None if nothing can."""
        condition = Q()
        for name, spec in entry.personal.items():
            f = entry.model._meta.get_field(name)
            column = f.attname if f.is_relation else name
            text = not f.is_relation and f.get_internal_type() in ("CharField", "TextField", "EmailField")
            if spec.erase == FieldErasure.NULL:
                condition |= Q(**{f"{column}__isnull": False}) & ~Q(**{column: ""}) if text else Q(**{f"{column}__isnull": False})
            elif spec.erase == FieldErasure.MASK:
                condition |= Q(**{f"{column}__isnull": False}) & ~Q(**{column: ""}) & ~Q(**{column: MASK})
            elif spec.erase == FieldErasure.HASH:
                condition |= (
                    Q(**{f"{column}__isnull": False}) & ~Q(**{column: ""}) & ~Q(**{f"{column}__startswith": "h$"})
                )
        return condition or None

    def plan(self) -> list[tuple[ModelMap, str]]:
        """(entry, action) in the order the run takes them: children first."""
        steps = []
        for entry in reversed(self.registry.in_dependency_order()):
            action = self.action(entry)
            if action is None or self.rows(entry) is None:
                continue
            if action == RowErasure.ANONYMISE and self.needs_erasure(entry) is None:
                continue
            steps.append((entry, action))
        return steps

    def _references(self, entry: ModelMap):
        """Declared foreign keys pointing at `entry`'s table from other tables."""
        for other in self.registry:
            if other is entry:
                continue
            for f in other.model._meta.concrete_fields:
                if f.many_to_one and f.related_model is entry.model:
                    yield other, f

    # -- dry run ------------------------------------------------------------------------

    def count(self) -> Counts:
        counts: Counts = {}
        plan = self.plan()
        planned = {e.label: a for e, a in plan}
        for entry, action in plan:
            rows = self.rows(entry)
            if action == RowErasure.DELETE:
                _add(counts, entry.db_table, DELETED, rows.count())
                for other, f in self._references(entry):
                    referring = other.model._default_manager.filter(**{f"{f.name}__in": rows.values("pk")})
                    referring = self._not_handled_by_own_step(other, f, referring, planned)
                    if referring is not None:
                        _add(counts, other.db_table, ANONYMISED, referring.count())
            else:
                _add(counts, entry.db_table, ANONYMISED, rows.filter(self.needs_erasure(entry)).count())
            history = entry.history_model
            if history is not None and not self.scope.is_expiry:
                pk = entry.model._meta.pk.name
                if action == RowErasure.ANONYMISE:
                    rows = rows.filter(self.needs_erasure(entry))
                reach = Q(**{f"{pk}__in": rows.values("pk")})
                extra = self.history_rows(entry)
                queryset = history._default_manager.filter(reach)
                if extra is not None:
                    queryset = history._default_manager.filter(reach | Q(history_id__in=extra.values("history_id")))
                if action == RowErasure.ANONYMISE:
                    queryset = queryset.filter(self.needs_erasure(entry))
                _add(counts, history._meta.db_table, DELETED if action == RowErasure.DELETE else ANONYMISED, queryset.count())
        for hook in self.registry.erasure_hooks.values():
            merge_counts(counts, hook(scope=self.scope, dry_run=True))
        return counts

    def _not_handled_by_own_step(self, other, f, referring, planned):
        """Referring rows the referring table's own step leaves pointing at us (None: none can)."""
        own = planned.get(other.label)
        own_rows = self.rows(other) if own else None
        if own == RowErasure.DELETE and own_rows is not None:
            referring = referring.exclude(pk__in=own_rows.values("pk"))
        elif own == RowErasure.ANONYMISE and own_rows is not None:
            spec = other.personal.get(f.name)
            if spec is not None and spec.erase == FieldErasure.NULL:
                referring = referring.exclude(pk__in=own_rows.filter(self.needs_erasure(other)).values("pk"))
        return referring

    # -- the run ------------------------------------------------------------------------

    def run(self) -> Result:
        result = Result()
        for entry, action in self.plan():
            reason = self._walk(entry, action, result)
            if reason:
                result.stopped_reason = reason
                return result
            reason = self._scrub_remaining_history(entry, action, result)
            if reason:
                result.stopped_reason = reason
                return result
        reason = self.should_proceed()
        if reason:
            result.stopped_reason = reason
            return result
        for hook in self.registry.erasure_hooks.values():
            with transaction.atomic():
                batch = merge_counts({}, hook(scope=self.scope, dry_run=False))
                self.on_batch(batch, total_rows(batch))
            merge_counts(result.counts, batch)
        result.completed = True
        return result

    def _walk(self, entry: ModelMap, action: str, result: Result) -> str | None:
        rows = self.rows(entry)
        if action == RowErasure.ANONYMISE:
            rows = rows.filter(self.needs_erasure(entry))
        last_pk = None
        while True:
            reason = self.should_proceed()
            if reason:
                return reason
            page = rows.order_by("pk")
            if last_pk is not None:
                page = page.filter(pk__gt=last_pk)
            ids = list(page.values_list("pk", flat=True)[: self.batch_size])
            if not ids:
                return None
            # The batch as a key range of the scope's own query: one index range scan on
            # (merchant, id) rather than a list of batch_size literals to send, parse and probe.
            in_batch = rows.filter(pk__gte=ids[0], pk__lte=ids[-1])
            batch: Counts = {}
            with transaction.atomic():
                if action == RowErasure.DELETE:
                    self._detach_references(entry, ids, batch)
                    self._erase_history_of(entry, action, ids, batch)
                    _add(batch, entry.db_table, DELETED, self._delete(entry.model, ids))
                else:
                    self._erase_history_of(entry, action, ids, batch)
                    _add(batch, entry.db_table, ANONYMISED, self._anonymise(entry, entry.model, ids, queryset=in_batch))
                self.on_batch(batch, total_rows(batch))
            merge_counts(result.counts, batch)
            last_pk = ids[-1]

    def _scrub_remaining_history(self, entry: ModelMap, action: str, result: Result) -> str | None:
        history_rows = self.history_rows(entry)
        if history_rows is None:
            return None
        if action == RowErasure.ANONYMISE:
            history_rows = history_rows.filter(self.needs_erasure(entry))
        history = entry.history_model
        while True:
            reason = self.should_proceed()
            if reason:
                return reason
            ids = list(history_rows.order_by("history_id").values_list("history_id", flat=True)[: self.batch_size])
            if not ids:
                return None
            batch: Counts = {}
            with transaction.atomic():
                if action == RowErasure.DELETE:
                    n = self._delete(history, ids, pk_column="history_id")
                    _add(batch, history._meta.db_table, DELETED, n)
                else:
                    n = self._anonymise(entry, history, ids, pk="history_id")
                    _add(batch, history._meta.db_table, ANONYMISED, n)
                self.on_batch(batch, total_rows(batch))
            merge_counts(result.counts, batch)

    def _detach_references(self, entry: ModelMap, ids: list, batch: Counts) -> None:
        for other, f in self._references(entry):
            referring = other.model._default_manager.filter(**{f"{f.name}__in": ids})
            if not f.null:
                if referring.exists():
                    raise ErasureRefused(
                        f"{entry.label} cannot be deleted: {other.label}.{f.name} still refers to it and is kept."
                    )
                continue
            _add(batch, other.db_table, ANONYMISED, referring.update(**{f.name: None}))

    def _erase_history_of(self, entry: ModelMap, action: str, ids: list, batch: Counts) -> None:
        history = entry.history_model
        if history is None:
            return
        pk = entry.model._meta.pk.name
        copies = history._default_manager.filter(**{f"{pk}__in": ids})
        if action == RowErasure.DELETE:
            history_ids = list(copies.values_list("history_id", flat=True))
            _add(batch, history._meta.db_table, DELETED, self._delete(history, history_ids, pk_column="history_id"))
        else:
            history_ids = list(copies.filter(self.needs_erasure(entry)).values_list("history_id", flat=True))
            _add(batch, history._meta.db_table, ANONYMISED, self._anonymise(entry, history, history_ids, pk="history_id"))

    @staticmethod
    def _delete(model, ids: list, *, pk_column: str | None = None) -> int:
        if not ids:
            return 0
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(pk_column or model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({', '.join(['%s'] * len(ids))})", ids)
            return cursor.rowcount

    def _anonymise(self, entry: ModelMap, model, ids: list, *, pk: str = "pk", queryset=None) -> int:
        if not ids:
            return 0
        values: dict[str, object] = {}
        hashed: list[tuple[str, str]] = []
        for name, spec in entry.personal.items():
            f = entry.model._meta.get_field(name)
            column = f.attname if f.is_relation else name
            if spec.erase == FieldErasure.NULL:
                values[column] = None if f.null else ""
            elif spec.erase == FieldErasure.MASK:
                values[column] = MASK
            elif spec.erase == FieldErasure.HASH:
                kind = {FindBy.EMAIL: "email", FindBy.PHONE: "phone"}.get(spec.find_by, "text")
                hashed.append((column, kind))
        manager = model._default_manager
        if hashed:
            columns = [c for c, _ in hashed]
            for row in manager.filter(**{f"{pk}__in": ids}).values_list(pk, *columns):
                changes = {
                    column: pseudonym(value, kind=kind)
                    for (column, kind), value in zip(hashed, row[1:])
                    if value and not is_pseudonym(value)
                }
                if changes:
                    manager.filter(**{pk: row[0]}).update(**changes)
        if values:
            target = queryset if queryset is not None else manager.filter(**{f"{pk}__in": ids})
            return target.update(**values)
        return len(ids)
