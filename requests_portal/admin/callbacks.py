"""The status callbacks sent to the API clients that forwarded requests: what was sent to whom,
when, and why one failed; a failed one can be sent again (`status_callback_retry`).

The list runs a fixed number of queries whatever the page: the rows with their request's id and
creation time (the reference) and the client's name (one join), a bounded count, the clients of
the client filter, and the user's session and permissions.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from junoprivacy.admin_tools import ReadOnlyAdminMixin, confirm_action, is_confirmed
from junoprivacy.pagination import EstimatedCountPaginator
from retention.exceptions import RetentionError

from ..exceptions import RequestError
from ..models import StatusCallback, parse_reference
from ..services.api import status_callback_retry
from ..services.common import WORK
from . import display

# A failed callback's error, cut for the list (the page of the callback shows it whole).
ERROR_CHARS = 80


class ClientFilter(admin.RelatedFieldListFilter):
    """Every client (a short table), not only those with callbacks: no scan of the callbacks for
    the filter. No "none" choice: a callback always belongs to a request of a client."""

    @property
    def include_empty_choice(self):
        return False


# On a phone the list becomes one card per callback (requests_portal.css) and the headings are
# hidden: the cells then say what they are themselves (display.labelled).


@admin.register(StatusCallback)
class StatusCallbackAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("request_ref", "client_col", "status_col", "state_col", "error_col", "times_col")
    list_display_links = None  # the reference links to the request; a callback's own page adds nothing to the row
    list_filter = ("state", ("request__api_client", ClientFilter))
    search_fields = ("request__id",)  # the search box; get_search_results reads a reference
    search_help_text = gettext_lazy("Nomor permintaan, mis. DSR-2026-000123.")
    ordering = ("-pk",)  # the newest first, by the primary key's index
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    list_max_show_all = 500
    actions = ("retry",)
    fields = ("request", "url", "payload", "state", "attempts", "last_error", "created_at", "sent_at")

    class Media:
        css = {"all": ("admin/requests_portal.css", "admin/callbacks.css")}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("request__api_client").only(
            "id", "request_id", "url", "payload", "state", "attempts", "last_error", "created_at", "sent_at",
            "request__id", "request__created_at", "request__api_client__name",
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        pk = parse_reference(term)
        return (queryset.filter(request_id=pk) if pk is not None else queryset.none()), False

    @admin.display(description=gettext_lazy("permintaan"), ordering="request_id")
    def request_ref(self, obj):
        url = reverse("admin:requests_portal_datasubjectrequest_change", args=[obj.request_id])
        return format_html('<a href="{}" class="dsr-nowrap">{}</a>', url, obj.request.reference)

    @admin.display(description=gettext_lazy("klien API"))
    def client_col(self, obj):
        client = obj.request.api_client
        return display.labelled(_("klien API"), client.name if client else "-")

    @admin.display(description=gettext_lazy("status yang dikirim"))
    def status_col(self, obj):
        return display.labelled(_("status yang dikirim"), obj.payload.get("request_status") or "-")

    # Attempts under the state and the sent time under the creation: nine columns do not fit
    # beside the admin's two sidebars.

    @admin.display(description=gettext_lazy("status"), ordering="state")
    def state_col(self, obj):
        return format_html(
            '<span class="callback-state-{}">{}</span><br><span class="dsr-muted dsr-nowrap">{}</span>',
            obj.state, obj.get_state_display(), _("%(count)s percobaan") % {"count": obj.attempts},
        )

    @admin.display(description=gettext_lazy("galat terakhir"))
    def error_col(self, obj):
        text = obj.last_error
        if len(text) > ERROR_CHARS:
            text = text[: ERROR_CHARS - 1] + "\u2026"
        return display.labelled(_("galat terakhir"), text or "-")

    @admin.display(description=gettext_lazy("dibuat / terkirim (WIB)"), ordering="created_at")
    def times_col(self, obj):
        created = display.labelled(_("dibuat"), display.short_time(obj.created_at, zone=False))
        if obj.sent_at is None:
            return created
        return format_html('{}<br><span class="dsr-muted">{}</span>', created,
                           display.labelled(_("terkirim"), display.short_time(obj.sent_at, zone=False)))

    def changelist_view(self, request, extra_context=None):
        context = {"title": _("Callback status ke klien API"), **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

    # -- sending again --

    @admin.action(description=gettext_lazy("Kirim ulang"), permissions=["retry"])
    def retry(self, request, queryset):
        failed = list(queryset.filter(state=StatusCallback.State.FAILED))
        if not is_confirmed(request):
            return confirm_action(
                self, request, failed, title=_("Kirim ulang callback status?"), action="retry",
                question=_("Callback berikut diantrikan lagi dan dikirim ke klien API, percobaannya dihitung dari nol."),
                objects=[
                    f"{c.request.reference} \u2192 {c.request.api_client.name if c.request.api_client else '-'}: "
                    f"{c.payload.get('request_status', '-')} ({c.last_error or '-'})"
                    for c in failed
                ],
            )
        done = 0
        for callback in failed:
            try:
                status_callback_retry(callback_id=callback.pk, actor=request.user)
            except (RequestError, RetentionError) as exc:  # RetentionError: NotPermitted, the service's own check
                self.message_user(request, f"{callback.request.reference}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(count)s callback diantrikan untuk dikirim ulang.") % {"count": done},
                              messages.SUCCESS)

    def has_retry_permission(self, request):
        return request.user.has_perm(WORK)
