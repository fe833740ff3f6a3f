"""System check: nobody can add a personal column without deciding how it is erased.

Every concrete model of every project app (an app whose code lives in this repository, not an
installed library) must be declared in its app's datamap.py, mapped or exempt with a reason,
whether or not the app declares anything yet; every field of a mapped model must be declared
personal or not personal; and every declaration must name a field that exists, an erasure
that fits it and a person (party) the row can be tied to.
"""

from pathlib import Path

from django.conf import settings
from django.core import checks

from .registry import SUBJECT, DataMap, FieldErasure, RowErasure, datamap


def is_history_model(model) -> bool:
    # django-simple-history's copies are covered by the declaration of the model they copy.
    return hasattr(model, "instance_type") and "history_id" in {f.name for f in model._meta.fields}


def _error(msg: str, obj, code: int, hint: str | None = None) -> checks.Error:
    return checks.Error(msg, hint=hint, obj=obj, id=f"retention.E{code:03d}")


def project_app_configs(apps=None) -> list:
    """The apps whose code is this project's own (under BASE_DIR, outside any virtualenv)."""
    if apps is None:
        from django.apps import apps
    base = Path(settings.BASE_DIR).resolve()
    own = []
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.is_relative_to(base) and not {"site-packages", ".venv"} & set(path.parts):
            own.append(config)
    return own


def check_registry(registry: DataMap, *, app_configs=None) -> list[checks.CheckMessage]:
    """`app_configs`: the apps every model of which must be declared (default: the project's)."""
    errors: list[checks.CheckMessage] = []
    configs = project_app_configs() if app_configs is None else app_configs
    for config in sorted(configs, key=lambda c: c.label):
        for model in config.get_models():
            label = model._meta.label
            if is_history_model(model) or label in registry.maps or label in registry.exempt:
                continue
            errors.append(
                _error(
                    f"{label} is not in the data map: say in {config.label}/datamap.py what in it is personal, "
                    "or that nothing is.",
                    model,
                    1,
                    hint="datamap.register(Model, personal=..., not_personal=...) or "
                    "datamap.exempt_model(Model, reason=...).",
                )
            )

    errors.extend(_check_references_into_deleted_rows(registry, configs))
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

        hooked = [name for name, spec in entry.personal.items() if spec.erase is FieldErasure.HOOK]
        if hooked and entry.erased_by not in registry.erasure_hooks:
            errors.append(_error(
                f"{entry.label} leaves {', '.join(hooked)} to an erasure hook, but names none that is registered "
                f"(erased_by={entry.erased_by!r}).", model, 15,
            ))
        errors.extend(_check_parties(entry, registry, fields))
        errors.extend(_check_carried(entry, registry, fields))
        for what, path in (("its merchant", entry.merchant), ("its retention date", entry.dated_by)):
            if path and path.split("__", 1)[0] not in fields:
                errors.append(_error(f"{entry.label} reaches {what} through {path}, which does not exist.", model, 10))
    return errors


def _check_field_erasure(entry, name, spec, field) -> list[checks.CheckMessage]:
    where = f"{entry.label}.{name}"
    if entry.erasure == RowErasure.DELETE:
        if spec.erase is not FieldErasure.DELETE_ROW:
            return [_error(f"{where} says {spec.erase.value} but its rows are deleted whole.", entry.model, 5)]
        return []
    problem = spec.erase.problem(field)
    if problem is None:
        return []
    code = 5 if spec.erase is FieldErasure.DELETE_ROW else 7 if spec.erase is FieldErasure.NULL else 8
    return [_error(f"{where} {problem}.", entry.model, code)]


def _check_parties(entry, registry, fields) -> list[checks.CheckMessage]:
    """Whose each field is must be a person the row can be tied to; a deleted row is one person's."""
    errors = []
    parties = set(entry.parties)
    for name, spec in entry.personal.items():
        if parties and spec.party not in parties:
            errors.append(_error(
                f"{entry.label}.{name} belongs to party {spec.party!r}, which no identifier or Via of the table finds.",
                entry.model, 11,
            ))
    for via in entry.subject_via:
        field = fields.get(via.field)
        target = registry.get(field.related_model) if field is not None and field.many_to_one else None
        if target is None:
            errors.append(_error(
                f"{entry.label}.subject_via names {via.field}, not a foreign key to a model in the data map.",
                entry.model, 9,
            ))
        elif via.of not in (target.parties or [SUBJECT]):
            errors.append(_error(f"{entry.label}.{via.field} follows party {via.of!r}, which {target.label} lacks.", entry.model, 11))
    if entry.erasure == RowErasure.DELETE and len(parties) > 1:
        errors.append(_error(
            f"{entry.label} is deleted whole yet concerns several people ({', '.join(sorted(parties))}): "
            "a subject's erasure would take the others' data with it.", entry.model, 12,
        ))
    return errors


def _check_carried(entry, registry, fields) -> list[checks.CheckMessage]:
    """What a row carries ends with it, so the row must have an end of its own (a rule and a
    date), and each carried key must point to a declared table (whose declaration says how)."""
    errors = []
    if entry.carries and not (entry.retained_under and entry.dated_by):
        errors.append(_error(
            f"{entry.label} carries {', '.join(entry.carries)} but has no period of its own "
            "(retained_under and dated_by).", entry.model, 14,
        ))
    for name in entry.carries:
        field = fields.get(name)
        target = (
            registry.get(field.related_model)
            if field is not None and (field.many_to_one or field.one_to_one) else None
        )
        if target is None:
            errors.append(_error(
                f"{entry.label}.carries names {name}, not a foreign key to a model in the data map.", entry.model, 14,
            ))
    return errors


def _check_references_into_deleted_rows(registry: DataMap, configs) -> list[checks.CheckMessage]:
    """The engine deletes rows by key, detaching the references it knows: those of declared
    models. A foreign key from an undeclared model into a table whose rows the engine deletes
    (erased with their subject, or at the end of a kept period) would fail the erasure at commit."""
    deleted = {
        e.model for e in registry if e.erasure == RowErasure.DELETE or (e.retained_under and e.dated_by)
    }
    errors = []
    for config in configs:
        for model in config.get_models():
            if is_history_model(model) or model._meta.label in registry.maps:
                continue
            for f in model._meta.concrete_fields:
                if f.many_to_one and f.related_model in deleted:
                    errors.append(_error(
                        f"{model._meta.label}.{f.name} points to {f.related_model._meta.label}, whose rows the "
                        "erasure engine deletes, but the data map does not declare it.", model, 13,
                        hint="Declare the model with datamap.register() so that erasures detach it.",
                    ))
    return errors


@checks.register("datamap")
def check_datamap(app_configs=None, **kwargs):
    return check_registry(datamap)
