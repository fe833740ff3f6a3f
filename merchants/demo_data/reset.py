"""Wiping the demo data: `reset_demo_data` (used by `seed_demo --reset`).

Every row of the governed merchants tables and their history tables goes: TRUNCATE (or
DELETE) where nothing outside merchants points at a table, the ORM's delete where another app
does, so that its on_delete rules (retention's PROTECT on legal holds) apply.
"""

from __future__ import annotations

from django.db import connection, transaction

from ..models import DeviceSession, LoyaltyCustomer, Merchant, Payment, Sale, SaleLine, StaffUser


def _merchants_models() -> list:
    """The governed tables, children first, then their history tables."""
    from django.apps import apps

    order = [SaleLine, Payment, DeviceSession, Sale, LoyaltyCustomer, "BankAccount", StaffUser, "Outlet", Merchant]
    config = apps.get_app_config("merchants")
    models = [config.get_model(m) if isinstance(m, str) else m for m in order]
    history = [m for m in config.get_models() if m not in models]  # Historical* tables
    return models + history


def _db_referencers(model, among) -> set:
    """The models in `among` (or, with among=None, outside merchants) whose database-level
    foreign keys point at `model`."""
    from django.apps import apps

    found = set()
    for other in apps.get_models() if among is None else among:
        if among is None and other._meta.app_label == "merchants":
            continue
        for f in other._meta.concrete_fields:
            if f.is_relation and f.related_model is model and getattr(f, "db_constraint", False):
                found.add(other)
    return found


def reset_demo_data() -> None:
    """Delete every row of the governed tables and their history (the demo data).

    Tables nothing outside merchants points at go at once: one TRUNCATE on PostgreSQL
    (instant at a million sales), plain DELETEs elsewhere. A table another app points at
    (retention's holds, schedules and run records point at merchants) is deleted through the
    ORM, so those apps' on_delete apply: PROTECT refuses (ProtectedError) rather than lose
    an officer's legal hold, SET_NULL detaches a run record.
    """
    models = _merchants_models()
    history = [m for m in models if m._meta.model_name.startswith("historical")]
    fast = [m for m in models if not _db_referencers(m, None)]
    # A table can only be truncated together with every table that points at it.
    changed = True
    while changed:
        changed = False
        for model in list(fast):
            if any(r not in fast for r in _db_referencers(model, models)):
                fast.remove(model)
                changed = True
    qn = connection.ops.quote_name
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Rows written earlier in this transaction may have deferred FK checks pending,
                # which TRUNCATE refuses: run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("TRUNCATE " + ", ".join(qn(m._meta.db_table) for m in fast))
            else:
                for model in fast:  # children first
                    cursor.execute(f"DELETE FROM {qn(model._meta.db_table)}")
        slow = [m for m in models if m not in fast]
        for model in slow:
            model._default_manager.all().delete()
        if slow:  # the ORM's deletes wrote "-" history rows: the demo's history goes too
            with connection.cursor() as cursor:
                for model in history:
                    cursor.execute(f"DELETE FROM {qn(model._meta.db_table)}")
