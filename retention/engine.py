"""The erasure engine: the one way personal data leaves the governed tables.

Safety design
- Driven only by the data map (retention.registry): it names no table. A scope is one
  merchant (a purge), one data subject (by e-mail and/or phone, optionally within one
  merchant), or the kept rows whose retention period has ended (expiry): a purged
  merchant's, or the records of no merchant (the portal's own requests), per rule.
- What belongs to no merchant (a request, its events, codes, attachments) is reached by a
  subject erasure (not one limited to a merchant) and by its own expiry, never by a purge:
  the proof of a request a shop's customer made is not the shop's to erase.
- Expiry does what the rule says at the end of its period: delete the kept rows, or keep
  them anonymised (every personal field erased the data map's way: addresses hashed, names
  masked, texts emptied; what is neither, such as the keyed hashes an audit chain covers,
  stays). Either way the rows of tables deleted whole that are tied to them (`subject_via`: a
  request's codes and attachments) are deleted, and the rows they carry (`carries`: a
  request's messages) are erased the way their own table says. A subject a legal hold names
  keeps every row tied to her (`exclude_subjects`). A subject erasure takes what her rows
  carry too, whoever it went to; kept carried rows go first, while the row that carries them
  still identifies her.
- Whose a field is: a subject erasure changes, in each row, only the fields of the party the
  subject is in that row (a buyer's link and receipt address on her purchases; the cashier link
  only where she was the cashier). A merchant purge changes every personal field.
- Children before parents: tables are processed in reverse dependency order, so a payment is
  anonymised while its sale still identifies the subject, and no row is deleted while a kept
  row still points to it (a nullable reference is cleared first: that is an anonymisation of
  the referring row, counted as such).
- One keyset loop (`_walk`) for every step: batches of ERASURE_BATCH_SIZE primary keys in key
  order (not OFFSET), each batch one transaction in which the caller also records counts and
  progress (`on_batch`, which may refuse the batch, e.g. a worker that lost its claim), so a
  kill loses only the batch in flight, which rolls back. Only one batch of keys is in memory.
- Re-runnable at any point: every step selects only rows that still need it (deleted rows
  are gone, anonymised rows no longer match, keyed hashes are never hashed again), so a
  second run finishes the first one's work and then does nothing.
- `should_proceed()` is asked before every batch: a reactivation or a legal hold placed
  mid-run stops the engine at the next batch, with the reason; it may also raise (a time
  budget reached), which leaves every committed batch in place.
- No Django cascade collector: deletes are SQL on primary keys, anonymisation is
  QuerySet.update(). Neither writes simple-history rows, deliberately: the engine erases the
  history copies itself (they are personal data too: a purge reaches its merchant's, a subject
  erasure those holding her identifiers, an anonymising expiry every copy of the rows it
  reaches), and the run record is the history of what it did, as counts per table and
  action, never content.
- Dry run: the same counts, from COUNT queries over exactly the rows the run would touch;
  nothing is written.
- Tombstone (`Scope.tombstone`): the last of a purged merchant, once its tombstone rule's
  period ended (retention.services.tombstone decides when, and removes retention's own records
  of it). Every row of the merchant in a table kept under a rule that deletes at its end (the
  tombstone, its outlets, the message proof, ended holds) is deleted with its history copies;
  a table kept under a rule that keeps rows anonymised (consent proof) keeps them, and the
  merchant's deletion clears their link to it (counted as anonymised, like any nullable
  reference). A row another table still needs (a request's message, a policy notice's) is left
  to that table's rule, its link to the merchant cleared the same way.
- Extension point: apps register erasure hooks in their datamap.py for what is not a
  governed table (produced files); the engine calls each with the scope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from merchants.identifiers import normalize_email, normalize_phone

from .pseudonyms import is_pseudonym
from .registry import MASK, DataMap, ModelMap, RowErasure, datamap
from .selectors import any_of, identifier_condition, subject_conditions

__all__ = [
    "ANONYMISED", "DELETED", "MASK", "Counts", "Erasure", "ErasureRefused", "Result", "Scope", "merge_counts",
    "total_rows",
]

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
    # Expiry: the rule whose kept rows have outlived it, the date before which they have, and
    # what the rule does to them then (RowErasure: delete, or keep anonymised). Without a
    # merchant, the records of no merchant.
    expiry_rule: str | None = None
    expiry_before: datetime | None = None
    expiry_action: str = RowErasure.DELETE
    # Subjects, as normalised (email, phone) pairs, whose rows an expiry must leave alone (a
    # legal hold names them).
    exclude_subjects: frozenset[tuple[str | None, str | None]] = frozenset()
    # Tombstone: the keys of the rules whose kept rows are deleted with the merchant (their
    # action is delete); and the tables (labels) whose rows pointing at them the caller removes
    # first (a purge warning's link to its message), which must not keep them.
    tombstone_rules: frozenset[str] | None = None
    removed_first: frozenset[str] = frozenset()

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
    def expiry(
        cls, *, merchant_id: int | None, rule_key: str, before: datetime, action: str = RowErasure.DELETE,
        exclude_subjects=(),
    ) -> Scope:
        """`merchant_id` None: the records of no merchant kept under `rule_key`."""
        subjects = {(normalize_email(email), normalize_phone(phone)) for email, phone in exclude_subjects}
        return cls(
            merchant_id=merchant_id, expiry_rule=rule_key, expiry_before=before, expiry_action=RowErasure(action),
            exclude_subjects=frozenset(s for s in subjects if any(s)),
        )

    @classmethod
    def tombstone(cls, merchant_id: int, *, delete_rules, removed_first=()) -> Scope:
        return cls(merchant_id=merchant_id, tombstone_rules=frozenset(delete_rules), removed_first=frozenset(removed_first))

    @property
    def is_tombstone(self) -> bool:
        return self.tombstone_rules is not None

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


@dataclass
class Step:
    """One pass over one table: delete its rows in scope, or erase some fields of them.

    `fields` are the personal fields the step erases in kept rows (one party's in a subject
    erasure, all of them otherwise). `history` is the history copies the step reaches besides
    those of its own live rows (a merchant's copies of rows deleted long ago; a subject's old
    addresses), or None.
    """

    entry: ModelMap
    action: str
    fields: tuple[str, ...]
    rows: QuerySet
    history: QuerySet | None

    @cached_property
    def pending(self) -> Q | None:
        return self.entry.pending(self.fields) if self.action == RowErasure.ANONYMISE else Q()

    @cached_property
    def live(self) -> QuerySet:
        """The live rows this step still has to change."""
        pending = self.pending
        return self.rows if not pending else self.rows.filter(pending)

    def history_of(self, live_rows) -> QuerySet | None:
        """History copies of `live_rows` (a queryset or a list of keys) and the extra ones, still to change."""
        model = self.entry.history_model
        if model is None:
            return None
        pk = self.entry.model._meta.pk.name
        reach = Q(**{f"{pk}__in": live_rows})
        copies = model._default_manager.filter(reach)
        pending = self.pending
        return copies.filter(pending) if pending else copies

    @property
    def extra_history(self) -> QuerySet | None:
        if self.history is None:
            return None
        pending = self.pending
        return self.history.filter(pending) if pending else self.history


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
        # on_batch(counts, rows) runs inside each batch's transaction; rows = rows changed. It may
        # raise to refuse the batch (which then rolls back).
        self.should_proceed = should_proceed or (lambda: None)
        self.on_batch = on_batch or (lambda counts, rows: None)
        self._referrers: dict[str, list] = {}
        self._subject = (
            subject_conditions(email=scope.email, phone=scope.phone, merchant_id=scope.merchant_id, registry=registry)
            if scope.is_subject
            else {}
        )
        self._carried: set[str] = set()
        self._expiring = self._expiring_rows() if scope.is_expiry else {}

    # -- what is in scope ---------------------------------------------------------------

    def plan(self) -> list[Step]:
        """The steps of the run, in order: children first, one per party in a subject erasure.

        Kept rows that another row carries (a request's messages) go first of all: a subject's
        are found through the row that carries them, which must still identify her (as a child
        goes before its parent), and anonymising them takes nothing another row needs.
        """
        order = list(reversed(self.registry.in_dependency_order()))
        carried = {
            self.registry.get(entry.model._meta.get_field(name).related_model).label
            for entry in order for name in entry.carries
        }
        first = [e for e in order if e.label in carried and e.erasure == RowErasure.ANONYMISE]
        steps = []
        for entry in first + [e for e in order if e not in first]:
            steps.extend(step for step in self._steps(entry) if step.pending is not None)
        return steps

    def _steps(self, entry: ModelMap) -> Iterator[Step]:
        if self.scope.is_expiry:
            yield from self._expiry_steps(entry)
            return
        if self.scope.is_tombstone:
            yield from self._tombstone_steps(entry)
            return
        manager = entry.model._default_manager
        history = entry.history_model
        if not self.scope.is_subject:
            if not entry.merchant:
                return  # a purge reaches only what belongs to merchants
            rows = manager.filter(**{entry.merchant: self.scope.merchant_id})
            copies = history._default_manager.filter(**{entry.merchant: self.scope.merchant_id}) if history else None
            yield Step(entry, entry.erasure, tuple(entry.personal), rows, copies)
            return
        conditions = self._subject.get(entry.label)
        if not conditions:
            return
        exclude = (
            Q(**{f"{entry.merchant}__in": self.scope.exclude_merchants})
            if self.scope.exclude_merchants and entry.merchant else None
        )
        # A deleted row goes whole, whoever it concerns (the check allows one party there);
        # a kept row loses only the fields of the party the subject is in it.
        by_party = conditions.items() if entry.erasure == RowErasure.ANONYMISE else [(None, any_of(conditions.values()))]
        for party, condition in by_party:
            rows = manager.filter(condition)
            if exclude is not None:
                rows = rows.exclude(exclude)
            yield Step(entry, entry.erasure, tuple(entry.fields_of(party)), rows, self._subject_history(entry, party, exclude))

    def _subject_history(self, entry: ModelMap, party: str | None, exclude: Q | None) -> QuerySet | None:
        """A subject's history copies found by their own identifiers (an old address, a deleted row)."""
        history = entry.history_model
        if history is None:
            return None
        condition = identifier_condition(entry, email=self.scope.email, phone=self.scope.phone, party=party)
        if not condition:
            return None
        copies = history._default_manager.filter(condition)
        if self.scope.merchant_id is not None and entry.merchant:
            copies = copies.filter(**{entry.merchant: self.scope.merchant_id})
        return copies.exclude(exclude) if exclude is not None else copies

    def _expiring_rows(self) -> dict[str, QuerySet]:
        """Expiry: per declared table, the rows whose period has ended. The rule's own rows dated
        before the cutoff (the merchant's, or those of no merchant); the rows of tables deleted
        whole that are tied to them (subject_via); then the rows those carry. Parents first, so
        that a tie is resolved after its target; each set already without what a hold keeps."""
        scope, owned = self.scope, self.scope.merchant_id is not None
        held = self._held_rows()
        found: dict[str, QuerySet] = {}

        def keep(entry: ModelMap, rows: QuerySet) -> None:
            found[entry.label] = rows.exclude(held[entry.label]) if entry.label in held else rows

        for entry in self.registry.in_dependency_order():
            if bool(entry.merchant) != owned:
                continue
            manager = entry.model._default_manager
            if entry.retained_under == scope.expiry_rule and entry.dated_by:
                rows = manager.filter(**{f"{entry.dated_by}__lt": scope.expiry_before})
                keep(entry, rows.filter(**{entry.merchant: scope.merchant_id}) if owned else rows)
            elif entry.erasure == RowErasure.DELETE:
                tied = Q()
                for via in entry.subject_via:
                    target = self.registry.get(entry.model._meta.get_field(via.field).related_model)
                    if target is not None and target.label in found:
                        tied |= Q(**{f"{via.field}__in": found[target.label].values("pk")})
                if tied:
                    keep(entry, manager.filter(tied))
        for label in list(found):
            carrier = self.registry.maps[label]
            for name in carrier.carries:
                f = carrier.model._meta.get_field(name)
                target = self.registry.get(f.related_model)
                rows = target.model._default_manager.filter(pk__in=found[label].values(f.attname))
                self._carried.add(target.label)
                keep(target, found[target.label] | rows if target.label in found else rows)
        return found

    def _held_rows(self) -> dict[str, Q]:
        """Per declared table, the rows tied to a subject the scope must leave alone."""
        held: dict[str, Q] = {}
        for email, phone in sorted(self.scope.exclude_subjects, key=str):
            for label, per_party in subject_conditions(email=email, phone=phone, registry=self.registry).items():
                held[label] = held.get(label, Q()) | any_of(per_party.values())
        return held

    def _expiry_steps(self, entry: ModelMap) -> Iterator[Step]:
        rows = self._expiring.get(entry.label)
        if rows is None:
            return
        kept = entry.erasure == RowErasure.ANONYMISE
        if kept and (entry.label in self._carried or self.scope.expiry_action == RowErasure.ANONYMISE):
            # Kept, anonymised: every personal field, in the live rows and in every history copy
            # of them (a copy may hold an address the live row no longer does).
            history = entry.history_model
            pk = entry.model._meta.pk.name
            copies = history._default_manager.filter(**{f"{pk}__in": rows.values("pk")}) if history else None
            yield Step(entry, RowErasure.ANONYMISE, tuple(entry.personal), rows, copies)
        else:
            yield Step(entry, RowErasure.DELETE, tuple(entry.personal), rows, None)

    def tombstone_deletes(self, entry: ModelMap) -> bool:
        """Whether a tombstone scope deletes the merchant's rows of `entry`'s table."""
        rules = self.scope.tombstone_rules or frozenset()
        return bool(entry.merchant) and (entry.retained_under is None or entry.retained_under in rules)

    def _tombstone_steps(self, entry: ModelMap) -> Iterator[Step]:
        if not self.tombstone_deletes(entry):
            return  # kept under its own rule; deleting the merchant clears the link
        merchant = {entry.merchant: self.scope.merchant_id}
        needed = self._needed_elsewhere(entry)
        rows = entry.model._default_manager.filter(**merchant)
        history = entry.history_model
        copies = None
        if history is not None:
            copies = history._default_manager.filter(**merchant)
        if needed is not None:
            if copies is not None:
                copies = copies.exclude(**{f"{entry.model._meta.pk.attname}__in": rows.filter(needed).values("pk")})
            rows = rows.exclude(needed)
        yield Step(entry, RowErasure.DELETE, tuple(entry.personal), rows, copies)

    def _needed_elsewhere(self, entry: ModelMap) -> Q | None:
        """Rows of `entry` that a row this scope does not delete still points to and needs: from a
        table not in the data map (a policy notice's delivery), or a declared one that keeps its
        rows and whose link cannot be cleared (a request's message). History copies (no database
        constraint), tables this scope deletes, and nullable declared links (cleared) need none."""
        from django.apps import apps

        condition = Q()
        for model in apps.get_models(include_auto_created=True):
            if model is entry.model or model._meta.label in self.scope.removed_first:
                continue
            declared = self.registry.get(model)
            for f in model._meta.concrete_fields:
                if not (f.many_to_one and f.related_model is entry.model) or not f.db_constraint:
                    continue
                if declared is not None and (self.tombstone_deletes(declared) or f.null):
                    continue
                condition |= Exists(model._default_manager.filter(**{f.name: OuterRef("pk")}))
        return condition or None

    def _references(self, entry: ModelMap) -> list:
        """Declared foreign keys pointing at `entry`'s table from other tables. A key the database
        does not enforce (db_constraint=False: proof that outlives the row it names, such as the
        consent ledger's merchant) is left as it is when the row goes."""
        if entry.label not in self._referrers:
            self._referrers[entry.label] = [
                (other, f)
                for other in self.registry if other is not entry
                for f in other.model._meta.concrete_fields
                if f.many_to_one and f.related_model is entry.model and f.db_constraint
            ]
        return self._referrers[entry.label]

    # -- dry run ------------------------------------------------------------------------

    def count(self) -> Counts:
        counts: Counts = {}
        plan = self.plan()
        for step in plan:
            entry, live = step.entry, step.live
            action = DELETED if step.action == RowErasure.DELETE else ANONYMISED
            _add(counts, entry.db_table, action, live.count())
            if step.action == RowErasure.DELETE:
                for other, f in self._references(entry):
                    referring = self._left_referring(other, f, live, plan)
                    if referring is not None:
                        _add(counts, other.db_table, ANONYMISED, referring.count())
            copies = step.history_of(live.values("pk"))
            if copies is not None:
                extra = step.extra_history
                if extra is not None:
                    copies = step.entry.history_model._default_manager.filter(
                        Q(history_id__in=copies.values("history_id")) | Q(history_id__in=extra.values("history_id"))
                    )
                _add(counts, entry.history_model._meta.db_table, action, copies.count())
        for hook in self.registry.erasure_hooks.values():
            merge_counts(counts, hook(scope=self.scope, dry_run=True))
        return counts

    @staticmethod
    def _left_referring(other: ModelMap, f, deleted: QuerySet, plan: list[Step]) -> QuerySet | None:
        """Rows of `other` that will still point at the deleted rows when their turn comes:
        those that the referring table's own steps (which run first) neither delete nor empty."""
        referring = other.model._default_manager.filter(**{f"{f.name}__in": deleted.values("pk")})
        for step in plan:
            if step.entry is not other:
                continue
            handles = step.action == RowErasure.DELETE or (
                f.name in step.fields and other.personal[f.name].erase.pending(f.attname, f) is not None
            )
            if handles:
                # NOT EXISTS, not NOT IN (subquery): the planner probes the index per row instead of
                # joining the whole table (20-300 ms against under 1 ms on a big sales table).
                referring = referring.exclude(Exists(step.live.filter(pk=OuterRef("pk"))))
        return referring

    def has_work(self) -> bool:
        """Whether run() would change anything: the dry run's question, asked with EXISTS (the
        daily plan asks it without counting every row the rule ever kept)."""
        for step in self.plan():
            if step.live.exists():
                return True
            extra = step.extra_history
            if extra is not None and extra.exists():
                return True
        return any(total_rows(hook(scope=self.scope, dry_run=True)) for hook in self.registry.erasure_hooks.values())

    # -- the run ------------------------------------------------------------------------

    def run(self) -> Result:
        result = Result()
        for step in self.plan():
            for reason in (self._run_live(step, result), self._run_extra_history(step, result)):
                if reason:
                    result.stopped_reason = reason
                    return result
        if self.registry.erasure_hooks:
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

    def _walk(self, queryset: QuerySet, pk: str, erase_batch: Callable[[list], Counts], result: Result) -> str | None:
        """The keyset batch loop: every step's rows, `batch_size` keys at a time, each batch one
        transaction with its record (`on_batch`). Returns why it stopped early, or None."""
        last = None
        while True:
            page = queryset.order_by(pk)
            if last is not None:
                page = page.filter(**{f"{pk}__gt": last})
            ids = list(page.values_list(pk, flat=True)[: self.batch_size])
            if not ids:
                return None
            # Asked before every batch that has rows (not before an empty page): a reactivation,
            # a hold or a lost claim stops the run here, between two committed batches.
            reason = self.should_proceed()
            if reason:
                return reason
            with transaction.atomic():
                batch = erase_batch(ids)
                self.on_batch(batch, total_rows(batch))
            merge_counts(result.counts, batch)
            if len(ids) < self.batch_size:
                return None  # a short page was the last one
            last = ids[-1]

    def _run_live(self, step: Step, result: Result) -> str | None:
        entry, live = step.entry, step.live

        def erase(ids: list) -> Counts:
            batch: Counts = {}
            if step.action == RowErasure.DELETE:
                self._detach_references(entry, ids, batch)
                self._erase_history(step, step.history_of(ids), batch)
                _add(batch, entry.db_table, DELETED, self._delete(entry.model, ids))
            else:
                self._erase_history(step, step.history_of(ids), batch)
                # The batch as a key range of the step's own query: one index range scan on
                # (merchant, id) rather than a list of batch_size literals to send, parse and probe.
                in_batch = live.filter(pk__gte=ids[0], pk__lte=ids[-1])
                _add(batch, entry.db_table, ANONYMISED, self._anonymise(step, in_batch, "pk", ids))
            return batch

        return self._walk(live, "pk", erase, result)

    def _run_extra_history(self, step: Step, result: Result) -> str | None:
        copies = step.extra_history
        if copies is None:
            return None
        return self._walk(copies, "history_id", lambda ids: self._erase_history(step, copies.filter(history_id__in=ids), {}), result)

    def _erase_history(self, step: Step, copies: QuerySet | None, batch: Counts) -> Counts:
        if copies is None:
            return batch
        table = step.entry.history_model._meta.db_table
        ids = list(copies.values_list("history_id", flat=True))
        if step.action == RowErasure.DELETE:
            _add(batch, table, DELETED, self._delete(step.entry.history_model, ids, pk="history_id"))
        else:
            in_batch = step.entry.history_model._default_manager.filter(history_id__in=ids)
            _add(batch, table, ANONYMISED, self._anonymise(step, in_batch, "history_id", ids))
        return batch

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

    @staticmethod
    def _delete(model, ids: list, *, pk: str = "pk") -> int:
        if not ids:
            return 0
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(model._meta.get_field(pk).column if pk != "pk" else model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({', '.join(['%s'] * len(ids))})", ids)
            return cursor.rowcount

    @staticmethod
    def _anonymise(step: Step, in_batch: QuerySet, pk: str, ids: list) -> int:
        """Erase the step's fields in the batch's rows: constants in one UPDATE, keyed hashes per row."""
        if not ids:
            return 0
        entry = step.entry
        constants: dict[str, object] = {}
        per_row: list[tuple[str, object]] = []
        for name in step.fields:
            spec = entry.personal[name]
            column, f = entry.column(name)
            if spec.erase.pending(column, f) is None:
                continue  # retained, or nothing to do
            if spec.erase.per_row:
                per_row.append((column, spec))
            else:
                constants[column] = spec.erase.constant(f)
        manager = in_batch.model._default_manager
        # Constants first, through the batch's own query while its condition still holds (a
        # subject's rows are found by the very columns being erased); then the keyed hashes, row
        # by row, by primary key.
        changed = in_batch.update(**constants) if constants else len(ids)
        if per_row:
            columns = [column for column, _spec in per_row]
            for row in manager.filter(**{f"{pk}__in": ids}).values_list(pk, *columns):
                changes = {
                    column: spec.erase.transform(value, find_by=spec.find_by)
                    for (column, spec), value in zip(per_row, row[1:])
                    if value and not is_pseudonym(value)
                }
                if changes:
                    manager.filter(**{pk: row[0]}).update(**changes)
        return changed
