"""The request page's correction section: proposed changes field by field against the values
held now (only the data map's correctable fields), each accepted or rejected with a reason, then
applied in one transaction (requests_portal.services.correction)."""

from __future__ import annotations

from django.apps import apps
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from retention.exceptions import RetentionError

from .. import services
from ..correction import correctable_fields, shown_from_text
from ..exceptions import RequestError
from ..models import CorrectionItem, DataSubjectRequest
from ..services.common import EXECUTE, WORK
from ..services.correction import APPLICABLE, DECIDABLE, PROPOSABLE
from . import display


class CorrectionAdminMixin:
    """For DataSubjectRequestAdmin: the correction section's context and its three views."""

    @staticmethod
    def correction_items(obj) -> tuple[list[dict], dict]:
        """The proposed changes with the value each field holds now (one query for the items, one
        per table with correctable fields for the current values: bounded by the data map)."""
        live = {(f.label, f.pk, f.field): f for f in correctable_fields(obj)}
        rows = []
        for item in CorrectionItem.objects.filter(request=obj).select_related("decided_by").order_by("pk"):
            try:
                model = apps.get_model(item.model_label)
            except LookupError:
                model = None
            label = model._meta.label if model is not None else item.model_label
            now_field = live.get((label, item.row_pk, item.field_name))
            f = model._meta.get_field(item.field_name) if model is not None else None

            def shown(text):
                if not text:
                    return "-"
                if f is None or f.is_relation:
                    return f"#{text}" if f is not None else text
                return shown_from_text(model, item.field_name, text)

            rows.append({
                "item": item,
                "key": (label, item.row_pk, item.field_name),
                "model": capfirst(model._meta.verbose_name) if model is not None else item.model_label,
                "field": capfirst(f.verbose_name) if f is not None else item.field_name,
                "was": shown(item.current_value),
                "now": now_field.shown if now_field is not None else _("(tidak lagi ditemukan untuk pemohon)"),
                "changed": now_field is None or now_field.value != item.current_value,
                "proposed": shown(item.proposed_value),
                "decided_by": display.user_label(item.decided_by) if item.decided_by_id else "",
                "decide_url": reverse("admin:requests_portal_datasubjectrequest_correction_decide", args=[obj.pk, item.pk]),
            })
        return rows, live

    def correction_context(self, request, obj) -> dict:
        items, live = self.correction_items(obj)
        proposed = {r["key"] for r in items}
        rows: dict[tuple[str, int], dict] = {}
        for f in live.values():
            row = rows.setdefault((f.label, f.pk), {"model": f.model_name, "pk": f.pk, "fields": []})
            row["fields"].append({
                "field": f, "input": f"new:{f.label}:{f.pk}:{f.field}",
                "proposed": f.key in proposed,
            })
        can_work = request.user.has_perm(WORK)
        return {
            "items": items,
            "rows": list(rows.values()),
            "can_propose": can_work and obj.state in PROPOSABLE,
            "can_decide": can_work and obj.state in DECIDABLE,
            "can_apply": request.user.has_perm(EXECUTE) and obj.state in APPLICABLE and bool(items),
            "propose_url": reverse("admin:requests_portal_datasubjectrequest_correction_propose", args=[obj.pk]),
            "apply_url": reverse("admin:requests_portal_datasubjectrequest_correction_apply", args=[obj.pk]),
        }

    def _correction_request(self, request, pk, permission):
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return get_object_or_404(DataSubjectRequest.objects.only("pk", "created_at", "right", "state"), pk=pk)

    def correction_propose_view(self, request, pk):
        """POST: every non-empty `new:<model label>:<row id>:<field>` becomes one proposed change."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self._correction_request(request, pk, WORK)
        items = []
        for key, value in request.POST.items():
            parts = key.split(":")
            if len(parts) == 4 and parts[0] == "new" and value.strip():
                items.append((parts[1], parts[2], parts[3], value))
        try:
            done = services.correction_propose(request_id=obj.pk, items=items, actor=request.user)
        except (RequestError, RetentionError) as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, _("%(n)s perubahan diusulkan untuk %(ref)s; terima atau tolak setiap butir.")
                              % {"n": len(done), "ref": obj.reference}, messages.SUCCESS)
        return redirect(reverse("admin:requests_portal_datasubjectrequest_change", args=[obj.pk]) + "#dsr-correction-title")

    def correction_decide_view(self, request, pk, item_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self._correction_request(request, pk, WORK)
        get_object_or_404(CorrectionItem.objects.only("pk"), pk=item_id, request_id=obj.pk)
        accept = request.POST.get("decision") == "accept"
        try:
            services.correction_decide(item_id=item_id, accept=accept, reason=request.POST.get("reason", ""),
                                       actor=request.user)
        except (RequestError, RetentionError) as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, _("Perubahan diterima.") if accept else _("Perubahan ditolak."), messages.SUCCESS)
        return redirect(reverse("admin:requests_portal_datasubjectrequest_change", args=[obj.pk]) + "#dsr-correction-title")

    def correction_apply_view(self, request, pk):
        """GET: what will be applied and told, to confirm; POST: apply (correction_apply)."""
        obj = self._correction_request(request, pk, EXECUTE)
        page = reverse("admin:requests_portal_datasubjectrequest_change", args=[obj.pk])
        if request.method == "POST":
            try:
                services.correction_apply(request_id=obj.pk, actor=request.user)
            except (RequestError, RetentionError) as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, _("Perbaikan %(ref)s diterapkan; permintaan selesai dan pemohon diberi tahu "
                                             "hasilnya.") % {"ref": obj.reference}, messages.SUCCESS)
            return redirect(page)
        items, _live = self.correction_items(obj)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Terapkan perbaikan: %(ref)s") % {"ref": obj.reference},
            "obj": obj,
            "original": obj,
            "items": items,
            "page": page,
            "opts": self.opts,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/requests_portal/datasubjectrequest/correction_apply.html", context)
