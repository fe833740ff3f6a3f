"""Carrying out a correction request, field by field.

An officer proposes the changes (`correction_propose`): only fields the data map marks
correctable, only in rows the data map finds for the request's verified identity, each value
normalised and validated by the services that own the rows (merchants.services); one bad item
and nothing is written. Each item is accepted or rejected with a reason (`correction_decide`).
`correction_apply` writes every accepted change through `governed_update` in the transaction of
the request's completion: it re-reads each row under lock first and refuses, applying nothing,
when a value changed since it was proposed. Its one event carries the before and after of each
field (personal data, erased with the request's other notes), and the requester is told, in
her language, what was corrected and what was not and why.

Proposals and decisions change no state but are steps on the request: each writes its event
under the request's row lock, as `transition` does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from merchants.services import governed_update, normalise_changes
from retention.registry import datamap

from ..audit import chain_event
from ..correction import correctable_rows, shown_from_text, value_from_text, value_text
from ..exceptions import RequestError, TransitionRefused
from ..models import CorrectionItem, DataSubjectRequest, Right, State
from .common import EXECUTE, SYSTEM, WORK, lock, require_actor, require_state, transition

# States in which changes may be proposed and decided (identity verified, not yet carried out).
PROPOSABLE = (State.VERIFIED, State.IN_REVIEW, State.AWAITING_REQUESTER, State.APPROVED)
DECIDABLE = PROPOSABLE + (State.PROCESSING,)
APPLICABLE = (State.APPROVED, State.PROCESSING)

Decision = CorrectionItem.Decision


def _model_of(label: str):
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    return model


def _where(model, pk, name) -> str:
    """“Telepon” (Pelanggan loyalitas #12): a field of a row, for officers' messages and notes."""
    return _("“%(field)s” (%(model)s #%(pk)s)") % {
        "field": capfirst(model._meta.get_field(name).verbose_name), "model": capfirst(model._meta.verbose_name),
        "pk": pk,
    }


def _require_correction(request: DataSubjectRequest) -> None:
    if request.right != Right.CORRECTION:
        raise TransitionRefused(_("Permintaan %(ref)s bukan permintaan perbaikan data.") % {"ref": request.reference})


def _step(
    request_id: int, *, verb: str, what: str, actor, allowed_from: Iterable[str],
    work: Callable[[DataSubjectRequest, object], str],
):
    """A step that changes no state: lock, state guard, `work(request, now)` -> the event's note."""
    with transaction.atomic():
        request = lock(request_id)
        require_state(request, allowed_from, what=what)
        _require_correction(request)
        now = timezone.now()
        note = work(request, now)
        chain_event(request, verb=verb, actor=actor, from_state=request.state, note=note)
        request._history_user = actor
        request.save()
        return request


def _messages(exc: ValidationError) -> str:
    return "; ".join(exc.messages)


def correction_propose(
    *, request_id: int, items: Sequence[tuple[str, int, str, object]], actor,
) -> list[CorrectionItem]:
    """Propose changes, each (model label, row id, field, new value): all are stored, or none.

    A field proposed again, before it is applied, is replaced by the new proposal (pending again).
    """
    what = _("mengusulkan perbaikan data")
    require_actor(actor, WORK, what=what)
    if not items:
        raise RequestError(_("Tidak ada perubahan yang diusulkan."))
    saved: list[CorrectionItem] = []

    def work(request, now):
        if request.verified_at is None:
            raise TransitionRefused(_("Identitas pemohon belum terverifikasi."))
        errors: list[str] = []
        wanted: dict[str, dict[int, dict[str, object]]] = defaultdict(lambda: defaultdict(dict))
        for label, pk, name, value in items:
            model = _model_of(label)
            entry = datamap.get(model) if model is not None else None
            personal = entry.personal.get(name) if entry is not None else None
            if personal is None or not personal.correctable:
                errors.append(_("Kolom %(field)s dari %(model)s tidak dapat diperbaiki lewat permintaan.")
                              % {"field": name, "model": label})
                continue
            try:
                wanted[entry.label][int(pk)][name] = value
            except (TypeError, ValueError):
                errors.append(_("Nomor baris tidak valid: %(pk)s") % {"pk": pk})
        proposals: list[tuple[object, str, str, str]] = []  # (row, field, current, proposed)
        for label, per_row in wanted.items():
            entry = datamap.maps[label]
            model = entry.model
            rows = correctable_rows(request, label=label, pks=list(per_row))
            for pk, changes in per_row.items():
                row, fields = rows.get(pk, (None, frozenset()))
                refused = [name for name in changes if name not in fields]
                if refused:
                    errors.extend(
                        _("%(where)s bukan data milik identitas terverifikasi pemohon.") % {"where": _where(model, pk, n)}
                        for n in refused
                    )
                    continue
                current = {name: value_text(row, name) for name in changes}
                try:
                    typed = {name: value_from_text(model, name, v) if isinstance(v, str) or v is None else v
                             for name, v in changes.items()}
                    values = normalise_changes(model, typed, instance=row)
                    for name, value in values.items():
                        setattr(row, name, value)
                    # A field the data map reads in its normalised form (a phone) is stored so.
                    for name in changes:
                        normalised = entry.personal[name].normalised
                        if normalised and values.get(normalised):
                            setattr(row, name, values[normalised])
                    row.full_clean()
                except ValidationError as exc:
                    errors.append(_("%(where)s: %(error)s") % {
                        "where": _where(model, pk, next(iter(changes))) if len(changes) == 1
                        else f"{capfirst(model._meta.verbose_name)} #{pk}",
                        "error": _messages(exc),
                    })
                    continue
                for name in changes:
                    proposed = value_text(row, name)
                    if proposed == current[name]:
                        errors.append(_("%(where)s: nilai baru sama dengan nilai sekarang.")
                                      % {"where": _where(model, pk, name)})
                    proposals.append((row, name, current[name], proposed))
        if errors:
            raise RequestError(" ".join(errors))
        lines = []
        for row, name, current, proposed in proposals:
            item, _created = CorrectionItem.objects.update_or_create(
                request=request, app_label=row._meta.app_label, model_name=row._meta.model_name, row_pk=row.pk,
                field_name=name,
                defaults={
                    "current_value": current, "proposed_value": proposed, "decision": Decision.PENDING,
                    "reason": "", "proposed_by": actor, "proposed_at": now, "decided_by": None, "decided_at": None,
                    "applied_at": None,
                },
            )
            saved.append(item)
            lines.append(f"{_where(type(row), row.pk, name)}: {current or '-'} \u2192 {proposed or '-'}")
        return "\n".join(lines)

    _step(request_id, verb="correction_proposed", what=what, actor=actor, allowed_from=PROPOSABLE, work=work)
    return saved


def correction_decide(*, item_id: int, accept: bool, reason: str = "", actor) -> CorrectionItem:
    """Accept or reject one proposed change; a rejection needs a reason, which the requester is told."""
    what = _("memutuskan perbaikan data")
    require_actor(actor, WORK, what=what)
    reason = (reason or "").strip()
    if not accept and not reason:
        raise RequestError(_("Tulis alasan penolakan perbaikan; alasan ini disampaikan kepada pemohon."))
    found = CorrectionItem.objects.filter(pk=item_id).values_list("request_id", flat=True).first()
    if found is None:
        raise RequestError(_("Butir perbaikan tidak ditemukan."))
    holder: dict[str, CorrectionItem] = {}

    def work(request, now):
        item = CorrectionItem.objects.select_for_update().get(pk=item_id)
        if item.applied_at is not None:
            raise TransitionRefused(_("Perbaikan ini sudah diterapkan."))
        item.decision = Decision.ACCEPTED if accept else Decision.REJECTED
        item.reason = reason
        item.decided_by, item.decided_at = actor, now
        item.save(update_fields=["decision", "reason", "decided_by", "decided_at"])
        holder["item"] = item
        model = _model_of(item.model_label)
        where = _where(model, item.row_pk, item.field_name) if model is not None else str(item)
        return f"{where}: {item.get_decision_display()}" + (f": {reason}" if reason else "")

    _step(
        found, verb="correction_accepted" if accept else "correction_rejected", what=what, actor=actor,
        allowed_from=DECIDABLE, work=work,
    )
    return holder["item"]


def _snapshot(items: Iterable[CorrectionItem]) -> list[tuple]:
    return [(i.pk, i.decision, i.current_value, i.proposed_value, i.reason) for i in items]


def correction_apply(*, request_id: int, actor) -> DataSubjectRequest:
    """Apply every accepted change in one transaction, complete the request and tell the requester.

    Each row is re-read under lock; if any value changed since it was proposed, or a row is no
    longer the requester's, nothing is applied and the officer is told which field.
    """
    what = _("menerapkan perbaikan data")
    if actor is not None:
        require_actor(actor, EXECUTE, what=what)
    proposed = list(CorrectionItem.objects.filter(request_id=request_id, applied_at__isnull=True).order_by("pk"))
    note_lines = []
    for item in proposed:
        model = _model_of(item.model_label)
        where = _where(model, item.row_pk, item.field_name) if model is not None else str(item)
        if item.decision == Decision.ACCEPTED:
            note_lines.append(f"{where}: {item.current_value or '-'} \u2192 {item.proposed_value or '-'}")
        else:
            note_lines.append(f"{where}: {item.get_decision_display()}: {item.reason}")

    def change(request, now):
        _require_correction(request)
        items = list(
            CorrectionItem.objects.select_for_update().filter(request=request, applied_at__isnull=True).order_by("pk")
        )
        if _snapshot(items) != _snapshot(proposed):
            raise TransitionRefused(_("Butir perbaikan berubah saat diterapkan; muat ulang halaman dan coba lagi."))
        if not items:
            raise TransitionRefused(_("Belum ada perubahan yang diusulkan untuk permintaan ini."))
        pending = sum(1 for i in items if i.decision == Decision.PENDING)
        if pending:
            raise TransitionRefused(
                _("Putuskan dulu setiap butir perbaikan (terima atau tolak): %(n)s masih menunggu.") % {"n": pending}
            )
        accepted = [i for i in items if i.decision == Decision.ACCEPTED]
        by_label: dict[str, list[CorrectionItem]] = defaultdict(list)
        for item in accepted:
            by_label[item.model_label].append(item)
        writes = []
        for label, label_items in by_label.items():
            model = _model_of(label)
            entry = datamap.get(model) if model is not None else None
            if entry is None:
                raise TransitionRefused(_("Tabel %(model)s tidak lagi ada di peta data.") % {"model": label})
            rows = correctable_rows(
                request, label=entry.label, pks=sorted({i.row_pk for i in label_items}), for_update=True,
            )
            per_row: dict[int, dict[str, object]] = defaultdict(dict)
            for item in label_items:
                row, fields = rows.get(item.row_pk, (None, frozenset()))
                where = _where(model, item.row_pk, item.field_name)
                if item.field_name not in fields:
                    raise TransitionRefused(
                        _("%(where)s tidak lagi dapat diperbaiki untuk pemohon ini; tidak ada yang diterapkan.")
                        % {"where": where}
                    )
                if value_text(row, item.field_name) != item.current_value:
                    raise TransitionRefused(
                        _("%(where)s berubah sejak perbaikan diusulkan; tidak ada yang diterapkan. "
                          "Usulkan ulang kolom ini.") % {"where": where}
                    )
                per_row[item.row_pk][item.field_name] = value_from_text(model, item.field_name, item.proposed_value)
            writes.extend((rows[pk][0], changes) for pk, changes in per_row.items())
        for row, changes in writes:
            # The officer's permission is execute_request, checked above: the row's service is called
            # as the system acting on an approved request, and its history names the officer.
            row._history_user = actor
            try:
                governed_update(instance=row, actor=None, **changes)
            except ValidationError as exc:
                raise TransitionRefused(
                    _("%(model)s #%(pk)s: %(error)s") % {
                        "model": capfirst(row._meta.verbose_name), "pk": row.pk, "error": _messages(exc),
                    }
                ) from None
        CorrectionItem.objects.filter(pk__in=[i.pk for i in accepted]).update(applied_at=now)

    def told(request):
        lines = [_("Permintaan %(ref)s telah selesai dilaksanakan.") % {"ref": request.reference}, "",
                 _("Hasil perbaikan data Anda:")]
        for item in proposed:
            model = _model_of(item.model_label)
            field = capfirst(model._meta.get_field(item.field_name).verbose_name) if model is not None else item.field_name
            if item.decision == Decision.ACCEPTED:
                value = shown_from_text(model, item.field_name, item.proposed_value) if model is not None else ""
                lines.append(_("- %(field)s: diperbaiki menjadi “%(value)s”.") % {"field": field, "value": value})
            else:
                lines.append(_("- %(field)s: tidak diperbaiki. Alasan: %(reason)s") % {"field": field, "reason": item.reason})
        return "\n".join(lines)

    request, _event = transition(
        request_id, verb="completed", what=what, actor=actor, actor_kind=SYSTEM, permission=EXECUTE,
        allowed_from=APPLICABLE, to_state=State.COMPLETED, note="\n".join(note_lines), told=told, change=change,
    )
    return request
