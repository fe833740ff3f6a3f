"""System check: nobody can add a personal column without deciding how it is erased.

Every concrete model of an app that declares a data map must be declared (mapped or exempt
with a reason), every field of a mapped model must be declared personal or not personal, and
every declaration must name a field that exists and an erasure that fits it.
"""

from django.core import checks
from django.db import models

from .registry import DataMap, FieldErasure, RowErasure, datamap

STRING_FIELDS = (models.CharField, models.TextField)
HASH_LENGTH = 64  # hex of HMAC-SHA256


def is_history_model(model) -> bool:
    # django-simple-history's copies are covered by the declaration of the model they copy.
    return hasattr(model, "instance_type") and "history_id" in {f.name for f in model._meta.fields}


def _error(msg: str, obj, code: int, hint: str | None = None) -> checks.Error:
    return checks.Error(msg, hint=hint, obj=obj, id=f"retention.E{code:03d}")


def check_registry(registry: DataMap) -> list[checks.CheckMessage]:
    from django.apps import apps

    errors: list[checks.CheckMessage] = []
    for app_label in sorted(registry.governed_apps):
        for model in apps.get_app_config(app_label).get_models():
            label = model._meta.label
            if is_history_model(model) or label in registry.maps or label in registry.exempt:
                continue
            errors.append(
                _error(
                    f"{label} is in a governed app but not in the data map.",
                    model,
                    1,
                    hint="Declare it in its app's datamap.py with datamap.register() or datamap.exempt_model().",
                )
            )

    for entry in registry:
        model = entry.model
        fields = {f.name: f for f in model._meta.concrete_fields}
        fields.update({f.name: f for f in model._meta.local_many_to_many})
        declared = set(entry.personal) | set(entry.not_personal)
        for name in sorted(set(fields) - declared):
            errors.append(
                _error(
                    f"{entry.label}.{name} is neither declared personal nor declared not personal.",
                    model,
                    2,
                    hint="Say in datamap.py what the field is and how erasure treats it.",
                )
            )
        for name in sorted(declared - set(fields)):
            errors.append(_error(f"The data map declares {entry.label}.{name}, which does not exist.", model, 3))
        for name in sorted(set(entry.personal) & set(entry.not_personal)):
            errors.append(_error(f"{entry.label}.{name} is declared both personal and not personal.", model, 4))

        if entry.erasure == RowErasure.ANONYMISE and not entry.retained_under:
            errors.append(_error(f"{entry.label} keeps anonymised rows but names no retention rule.", model, 6))
        for name, spec in entry.personal.items():
            field = fields.get(name)
            if field is None:
                continue
            errors.extend(_check_field_erasure(entry, name, spec, field))
            if spec.normalised and spec.normalised not in fields:
                errors.append(_error(f"{entry.label}.{name} is normalised into {spec.normalised}, which does not exist.", model, 3))

        for name in entry.subject_via:
            field = fields.get(name)
            if field is None or not field.many_to_one or registry.get(field.related_model) is None:
                errors.append(
                    _error(f"{entry.label}.subject_via names {name}, not a foreign key to a model in the data map.", model, 9)
                )
        for what, path in (("its merchant", entry.merchant), ("its retention date", entry.dated_by)):
            if path and path.split("__", 1)[0] not in fields:
                errors.append(_error(f"{entry.label} reaches {what} through {path}, which does not exist.", model, 10))
    return errors


def _check_field_erasure(entry, name, spec, field) -> list[checks.CheckMessage]:
    where = f"{entry.label}.{name}"
    model = entry.model
    if entry.erasure == RowErasure.DELETE:
        if spec.erase != FieldErasure.DELETE_ROW:
            return [_error(f"{where} says {spec.erase} but its rows are deleted whole.", model, 5)]
        return []
    if spec.erase == FieldErasure.DELETE_ROW:
        return [_error(f"{where} is in a table whose rows are kept: say null, mask, hash or retain.", model, 5)]
    if spec.erase == FieldErasure.NULL and not (field.null or isinstance(field, STRING_FIELDS)):
        return [_error(f"{where} cannot be emptied: it is neither nullable nor text.", model, 7)]
    if spec.erase in (FieldErasure.MASK, FieldErasure.HASH) and not isinstance(field, STRING_FIELDS):
        return [_error(f"{where} cannot be masked or hashed: it is not text.", model, 8)]
    if spec.erase == FieldErasure.HASH and field.max_length is not None and field.max_length < HASH_LENGTH:
        return [_error(f"{where} is too short ({field.max_length}) for a keyed hash of {HASH_LENGTH}.", model, 8)]
    return []


@checks.register("datamap")
def check_datamap(app_configs=None, **kwargs):
    return check_registry(datamap)
