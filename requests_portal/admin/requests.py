"""The officers' queue and the request page (its execution and correction sections are mixins:
admin/execution.py, admin/correction.py; the queue's filters are in admin/filters.py).

Nothing here changes a request: the page is read-only for everyone (no change permission
exists in practice), and each button opens a small form whose POST calls one `request_<verb>`
service, which checks the officer's permission and the request's state again and says why it
refuses. Adding a request is entering one that came by e-mail or WhatsApp (`request_enter`).

The queue runs a fixed number of queries whatever the page: the request rows with their
assignee (one join), a bounded count (junoprivacy.pagination), the officers of the assignee
filter, and the user's session and permissions; time left is worked out in Python from the
row, lateness comes from the queue's annotation (selectors.request_queue).
"""

from __future__ import annotations

import io

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import FileResponse, Http404, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from junoprivacy.pagination import EstimatedCountPaginator
from retention.exceptions import RetentionError
from retention.models import LegalHold
from retention.registry import Category
from retention.selectors import holds_for_subject, subject_records

from .. import services
from ..deadlines import deadline_rule
from ..exceptions import RequestError
from ..models import FOUR_EYES_RIGHTS, DataSubjectRequest, RequestAttachment, RequestMessage, Right, State, StatusCallback
from ..services.common import ENTER, WORK
from ..selectors import (
    available_actions, request_duplicates, request_queue, request_search_q, request_timeline,
)
from . import display
from .chain import chain_verify
from .correction import CorrectionAdminMixin
from .execution import ExecutionAdminMixin
from .export import export_lines
from .filters import AssigneeFilter, ClosedThisMonthFilter, DueTodayFilter, LateFilter, StateFilter
from .forms import ACTION_FORMS, EnterForm, ExportForm



ACTION_LABELS = {
    "assign": gettext_lazy("Tugaskan"),
    "ask": gettext_lazy("Tanya pemohon"),
    "extend": gettext_lazy("Perpanjang tenggat"),
    "refuse": gettext_lazy("Tolak"),
    "propose": gettext_lazy("Usulkan untuk disetujui DPO"),
    "approve": gettext_lazy("Setujui"),
    "duplicate": gettext_lazy("Tandai duplikat"),
}
ACTION_DONE = {
    "assign": gettext_lazy("Permintaan %(ref)s ditugaskan."),
    "ask": gettext_lazy("Pertanyaan untuk pemohon %(ref)s dikirim; tenggat berhenti sampai pemohon menjawab."),
    "extend": gettext_lazy("Tenggat %(ref)s diperpanjang; pemohon diberi tahu alasannya."),
    "refuse": gettext_lazy("Permintaan %(ref)s ditolak; pemohon diberi tahu alasannya."),
    "propose": gettext_lazy("Permintaan %(ref)s diusulkan; menunggu persetujuan DPO."),
    "approve": gettext_lazy("Permintaan %(ref)s disetujui."),
    "duplicate": gettext_lazy("Permintaan %(ref)s ditandai sebagai duplikat."),
}
ACTION_SERVICES = {
    "assign": services.request_assign,
    "ask": services.request_ask,
    "extend": services.request_extend,
    "refuse": services.request_refuse,
    "propose": services.request_propose,
    "approve": services.request_approve,
    "duplicate": services.request_mark_duplicate,
}
# The request page lists this many of an API request's latest status callbacks (all: the callbacks' list).
CALLBACKS_SHOWN = 5
# Columns of the request that the queue never shows: not read for the list.
LONG_TEXT = (
    "details", "wrong_data", "correct_data", "reason", "original_message", "identity_method", "refusal_text",
    "extension_reason", "head_hash",
)


# -- the admin -----------------------------------------------------------------------------------


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(ExecutionAdminMixin, CorrectionAdminMixin, SimpleHistoryAdmin):
    list_display = ("reference_col", "right", "state_col", "channel", "assignee_col", "due_col", "time_left_col", "created_col")
    list_display_links = ("reference_col",)
    list_filter = (StateFilter, "right", "channel", AssigneeFilter, LateFilter, DueTodayFilter, ClosedThisMonthFilter)
    # Searched by get_search_results (reference, e-mail, phone, each an index probe): the
    # field named here only makes Django show the search box.
    search_fields = ("email",)
    search_help_text = gettext_lazy("Nomor permintaan (DSR-2026-000123), e-mail, atau nomor telepon (0812... atau +62812...).")
    ordering = (F("due_at").asc(nulls_last=True), "created_at", "pk")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts would add a COUNT per filter option over the whole table to every page.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    list_max_show_all = 500
    actions = None
    change_list_template = "admin/requests_portal/datasubjectrequest/change_list.html"
    add_form_template = "admin/requests_portal/datasubjectrequest/enter_form.html"

    class Media:
        css = {"all": ("admin/requests_portal.css",)}

    # -- the queue --

    def get_queryset(self, request):
        return request_queue(now=timezone.now()).defer(*LONG_TEXT)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(request_search_q(search_term)), False

    @admin.display(description=gettext_lazy("nomor"))  # sorting by it is sorting by "diterima"
    def reference_col(self, obj):
        return obj.reference

    @admin.display(description=gettext_lazy("status"), ordering="state")
    def state_col(self, obj):
        label = obj.get_state_display()
        if obj.state == State.IN_REVIEW and obj.right in FOUR_EYES_RIGHTS and obj.prepared_by_id:
            return format_html('{} <span class="dsr-badge">{}</span>', label, _("menunggu DPO"))
        return label

    # On a phone the list becomes one card per request (requests_portal.css) and the headings
    # are hidden: these cells then say what they are themselves.

    @admin.display(description=gettext_lazy("petugas"), ordering="assignee__username")
    def assignee_col(self, obj):
        return display.labelled(_("petugas"), display.user_label(obj.assignee) if obj.assignee_id else "-")

    @admin.display(description=gettext_lazy("tenggat (WIB)"), ordering="due_at")
    def due_col(self, obj):
        return display.labelled(_("tenggat"), display.short_time(obj.due_at, zone=False))

    @admin.display(description=gettext_lazy("sisa waktu"))
    def time_left_col(self, obj):
        return display.labelled(_("sisa waktu"), display.clock(obj, is_late=getattr(obj, "is_late", None)))

    @admin.display(description=gettext_lazy("diterima (WIB)"), ordering="created_at")
    def created_col(self, obj):
        return display.labelled(_("diterima"), display.short_time(obj.created_at, zone=False))

    def changelist_view(self, request, extra_context=None):
        context = {
            "can_verify_chain": request.user.has_perm("requests_portal.view_requestevent"),
            "can_export": self.has_view_permission(request),
            "can_enter": self.has_add_permission(request),
            "title": _("Antrean permintaan subjek data"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    # -- permissions: read-only for everyone; entering is the only way to add --

    def has_add_permission(self, request):
        return request.user.has_perm(ENTER)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # -- entering a request that came by e-mail or WhatsApp --

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            return EnterForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return super().get_fieldsets(request, obj)
        return [
            (_("Asal permintaan"), {"fields": ("channel", "original_message", "identity_method", "note")}),
            (_("Permintaan"), {"fields": ("right", "jurisdiction", "language", "details", "wrong_data", "correct_data",
                                          "reason", "appeal_reference")}),
            (_("Pemohon"), {"fields": ("requester_name", "subject_role", "shop_name", "email", "phone",
                                       "is_representative", "subject_name", "authorisation")}),
        ]

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        try:
            entered = services.request_enter(
                actor=request.user, authorisation=form.cleaned_data.get("authorisation"),
                note=form.cleaned_data.get("note") or "", **form.service_kwargs(),
            )
        except RetentionError as exc:  # NotPermitted: the service's own check
            raise PermissionDenied(exc.message) from None
        obj.pk, obj.created_at = entered.pk, entered.created_at

    def save_related(self, request, form, formsets, change):
        pass  # the service wrote everything

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request, _("Permintaan %(ref)s dicatat; pemohon diberi tahu tenggatnya.") % {"ref": obj.reference},
            messages.SUCCESS,
        )
        return redirect("admin:requests_portal_datasubjectrequest_change", obj.pk)

    def add_view(self, request, form_url="", extra_context=None):
        context = {
            "title": _("Catat permintaan dari e-mail atau WhatsApp"),
            # One button: after saving, the officer lands on the request's page.
            "show_save_and_add_another": False, "show_save_and_continue": False,
            **(extra_context or {}),
        }
        try:
            return super().add_view(request, form_url, extra_context=context)
        except ValidationError as exc:  # a race the form's validation could not see: shown, nothing saved
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return redirect("admin:requests_portal_datasubjectrequest_add")

    # -- the request page --

    def get_object(self, request, object_id, from_field=None):
        queryset = DataSubjectRequest.objects.select_related(
            "assignee", "prepared_by", "merchant", "appeal_of", "duplicate_of"
        )
        try:
            return queryset.get(pk=int(object_id))
        except (ValueError, DataSubjectRequest.DoesNotExist):
            return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            **self.request_page_context(request, obj),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        template = "admin/requests_portal/datasubjectrequest/request_page.html"
        if obj.right == Right.CORRECTION:
            # The correction section (correction_page.html extends the request page).
            context["correction"] = self.correction_context(request, obj)
            template = "admin/requests_portal/datasubjectrequest/correction_page.html"
        return TemplateResponse(request, template, context)

    def request_page_context(self, request, obj) -> dict:
        now = timezone.now()
        actions = [
            {"name": name, "label": ACTION_LABELS[name],
             "url": reverse("admin:requests_portal_datasubjectrequest_action", args=[obj.pk, name])}
            for name in available_actions(obj, request.user)
        ]
        actions += self._execution_actions(request, obj)
        waiting_for_dpo = (
            obj.prepared_by if obj.state == State.IN_REVIEW and obj.needs_four_eyes and obj.prepared_by_id else None
        )
        records = subject_records(email=obj.email or None, phone=obj.phone or None)
        category_labels = dict(Category.choices)
        datamap = [
            {
                "merchant": m, "total": m.total,
                "categories": [(category_labels.get(c, c), n) for c, n in sorted(m.by_category.items())],
                "tables": sorted(m.tables, key=lambda t: t.name),
            }
            for m in records.merchants
        ]
        merchant_ids = [m.merchant_id for m in records.merchants if m.merchant_id]
        if obj.merchant_id:
            merchant_ids.append(obj.merchant_id)
        holds = list(holds_for_subject(email=obj.email or None, phone=obj.phone or None).select_related("merchant"))
        merchant_holds = list(
            LegalHold.objects.filter(LegalHold.active_q(now), merchant_id__in=merchant_ids)
            .exclude(pk__in=[h.pk for h in holds]).select_related("merchant").order_by("placed_at")
        )
        events = [
            {"event": e, "when": display.short_time(e.created_at, zone=False), "actor": display.actor_label(e),
             "verb": display.verb_label(e.verb),
             "from": display.state_label(e.from_state) if e.from_state else "",
             "to": display.state_label(e.to_state) if e.to_state else ""}
            for e in request_timeline(obj)
        ]
        sent = [
            {"message": link.message, "created": display.short_time(link.message.created_at, zone=False),
             "sent": display.short_time(link.message.sent_at, zone=False) if link.message.sent_at else ""}
            for link in RequestMessage.objects.filter(request=obj).select_related("message").order_by("message__created_at", "pk")
        ]
        rule = deadline_rule(right=obj.right, jurisdiction=obj.jurisdiction)
        return {
            "title": _("Permintaan %(ref)s") % {"ref": obj.reference},
            "subtitle": obj.get_right_display(),
            "original": obj,
            "obj": obj,
            "opts": self.opts,
            "media": self.media,
            "has_view_permission": True,
            "actions": actions,
            "waiting_for_dpo": waiting_for_dpo,
            "waiting_for_dpo_name": display.user_label(waiting_for_dpo) if waiting_for_dpo else "",
            "details": self._details(obj) + self._callbacks(obj),
            "attachments": RequestAttachment.objects.filter(request=obj).defer("content").order_by("uploaded_at", "pk"),
            "events": events,
            "sent": sent,
            "datamap": datamap,
            "datamap_total": records.total,
            "holds": holds,
            "merchant_holds": merchant_holds,
            "hold_count": len(holds) + len(merchant_holds),
            "duplicates": [
                {"request": d, "created": display.short_time(d.created_at)}
                for d in request_duplicates(obj).only("pk", "created_at", "state", "right")[:20]
            ],
            "deadline": {
                "verified": display.short_time(obj.verified_at) if obj.verified_at else "",
                "due": display.short_time(obj.due_at) if obj.due_at else "",
                "left": display.clock(obj, now=now),
                "paused": display.short_time(obj.paused_at) if obj.paused_at else "",
                "extended": display.short_time(obj.extended_at) if obj.extended_at else "",
                "extension_reason": obj.extension_reason,
                "closed": display.short_time(obj.closed_at) if obj.closed_at else "",
                "rule": rule,
            },
        }

    @staticmethod
    def _callbacks(obj) -> list[tuple[str, list[tuple[str, object]]]]:
        """An API request's latest status callbacks, as one more group of the page (one query)."""
        if not obj.api_client_id:
            return []
        latest = (
            StatusCallback.objects.filter(request=obj).only("state", "payload", "created_at", "sent_at")
            .order_by("-created_at", "-pk")[:CALLBACKS_SHOWN]
        )
        rows = [
            (display.short_time(c.sent_at or c.created_at),
             f"{c.payload.get('request_status') or '-'} \u2014 {c.get_state_display()}")
            for c in latest
        ]
        return [(_("Callback status ke klien API"), rows)] if rows else []

    @staticmethod
    def _details(obj) -> list[tuple[str, list[tuple[str, object]]]]:
        """The request's fields by group, the empty ones left out."""

        def field(name):
            f = DataSubjectRequest._meta.get_field(name)
            if name == "language":
                value = dict(settings.LANGUAGES).get(obj.language, obj.language)
            else:
                value = getattr(obj, f"get_{name}_display")() if f.choices else getattr(obj, name)
            return (capfirst(f.verbose_name), value)

        def rows(*names):
            found = [field(n) for n in names]
            return [(label, value) for label, value in found if value not in ("", None, False)]

        groups = [
            (_("Pemohon"), rows("requester_name", "subject_role", "shop_name", "merchant", "is_representative",
                                "subject_name", "email", "phone", "language")),
            (_("Yang diminta"), rows("right", "jurisdiction", "channel", "details", "wrong_data", "correct_data",
                                     "reason", "appeal_of")),
            (_("Diterima lewat e-mail atau WhatsApp"), rows("original_message", "identity_method")),
            (_("Penanganan"), rows("state", "assignee", "prepared_by", "refusal_reason", "refusal_text", "duplicate_of")),
        ]
        return [(title, items) for title, items in groups if items]

    # -- the admin's own views --

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/action/<slug:action>/", view(self.action_view), name="requests_portal_datasubjectrequest_action"),
            path("<int:pk>/attachment/<int:attachment_id>/", view(self.attachment_view),
                 name="requests_portal_datasubjectrequest_attachment"),
            path("<int:pk>/correction/propose/", view(self.correction_propose_view),
                 name="requests_portal_datasubjectrequest_correction_propose"),
            path("<int:pk>/correction/<int:item_id>/decide/", view(self.correction_decide_view),
                 name="requests_portal_datasubjectrequest_correction_decide"),
            path("<int:pk>/correction/apply/", view(self.correction_apply_view),
                 name="requests_portal_datasubjectrequest_correction_apply"),
            path("<int:pk>/execute/", view(self.execute_view), name="requests_portal_datasubjectrequest_execute"),
            path("export/", view(self.export_view), name="requests_portal_datasubjectrequest_export"),
            path("verify-chain/", view(self.verify_chain_view), name="requests_portal_datasubjectrequest_verify_chain"),
        ] + super().get_urls()

    def action_view(self, request, pk, action):
        """One transition: GET shows its small form, POST calls its service and says what happened."""
        if action not in ACTION_FORMS:
            raise Http404
        if not request.user.has_perm(WORK):
            raise PermissionDenied
        obj = get_object_or_404(DataSubjectRequest.objects.select_related("assignee", "prepared_by"), pk=pk)
        page = reverse("admin:requests_portal_datasubjectrequest_change", args=[obj.pk])
        form_class = ACTION_FORMS[action]
        if request.method == "POST":
            form = form_class(request.POST, request=obj, user=request.user)
            if form.is_valid():
                try:
                    ACTION_SERVICES[action](request_id=obj.pk, actor=request.user, **form.service_kwargs())
                except (RequestError, RetentionError) as exc:
                    # The service refused and changed nothing: say why, keep what was typed.
                    self.message_user(request, exc.message, messages.ERROR)
                else:
                    self.message_user(request, ACTION_DONE[action] % {"ref": obj.reference}, messages.SUCCESS)
                    return redirect(page)
        else:
            if action not in available_actions(obj, request.user):
                self.message_user(
                    request, _("Langkah “%(action)s” tidak tersedia untuk %(ref)s sekarang.")
                    % {"action": ACTION_LABELS[action], "ref": obj.reference}, messages.WARNING,
                )
                return redirect(page)
            form = form_class(request=obj, user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{ACTION_LABELS[action]}: {obj.reference}",
            "submit_label": ACTION_LABELS[action],
            "obj": obj,
            "original": obj,
            "action": action,
            "form": form,
            "page": page,
            "opts": self.opts,
            "media": self.media + form.media,
            "waiting_for_dpo_name": display.user_label(obj.prepared_by) if obj.prepared_by_id else "",
            "is_sensitive": obj.needs_four_eyes,
        }
        return TemplateResponse(request, "admin/requests_portal/datasubjectrequest/action.html", context)

    def attachment_view(self, request, pk, attachment_id):
        """A requester's file, for staff who may see the request: always a download, never rendered."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        get_object_or_404(RequestAttachment, pk=attachment_id, request_id=pk)
        attachment = services.request_attachment_read(request_id=pk, attachment_id=attachment_id, actor=request.user)
        response = FileResponse(
            io.BytesIO(bytes(attachment.content)), as_attachment=True, filename=attachment.filename,
            content_type=attachment.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    def export_view(self, request):
        """The audit export: requests received in a period (Asia/Jakarta dates), without contact data."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if "start" in request.GET or "end" in request.GET:
            form = ExportForm(request.GET)
            if form.is_valid():
                start, end = form.cleaned_data["start"], form.cleaned_data["end"]
                response = StreamingHttpResponse(export_lines(start, end), content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="permintaan-{start}-{end}.csv"'
                response["Cache-Control"] = "private, no-store"
                return response
        else:
            form = ExportForm(initial=ExportForm.this_month(display.local(timezone.now()).date()))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Ekspor permintaan untuk audit"),
            "form": form,
            "opts": self.opts,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/requests_portal/datasubjectrequest/export.html", context)

    def verify_chain_view(self, request):
        """Walk the audit chain now (POST), keep the result for the index and the queue."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("requests_portal.view_requestevent"):
            raise PermissionDenied
        status = chain_verify()
        if status is None:
            self.message_user(request, _("Pemeriksaan jejak audit sedang berjalan; muat ulang halaman sebentar lagi."),
                              messages.WARNING)
        elif status["intact"]:
            self.message_user(request, _("Jejak audit utuh: %(events)s peristiwa, %(anchors)s jangkar.")
                              % {"events": status["events"], "anchors": status["anchors"]}, messages.SUCCESS)
        else:
            self.message_user(request, _("Jejak audit RUSAK di %(where)s.") % {"where": status["first_break"]},
                              messages.ERROR)
        back = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            back = reverse("admin:index")
        return redirect(back)
