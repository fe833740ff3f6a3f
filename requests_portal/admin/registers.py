"""The registers beside the queue: the deadline table (corrected with history by whoever may
change it), and the audit trail itself (events and anchors), which only services write."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from junoprivacy.admin_tools import ReadOnlyAdminMixin
from junoprivacy.pagination import EstimatedCountPaginator

from ..models import AuditAnchor, DeadlineRule, RequestEvent, parse_reference
from . import display


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(SimpleHistoryAdmin):
    """Deadlines are data: a lawyer corrects a row here, the history keeps who changed what."""

    list_display = ("right", "jurisdiction", "period_display", "extension_display", "legal_basis", "updated_at")
    list_filter = ("jurisdiction", "right")
    fields = ("right", "jurisdiction", "period", "unit", "extension_period", "extension_unit", "legal_basis", "notes",
              "updated_at")
    readonly_fields = ("right", "jurisdiction", "updated_at")

    class Media:
        css = {"all": ("admin/requests_portal.css",)}

    @admin.display(description=_("masa"))
    def period_display(self, obj):
        return f"{obj.period} {obj.get_unit_display()}"

    @admin.display(description=_("perpanjangan"))
    def extension_display(self, obj):
        return f"{obj.extension_period} {obj.get_extension_unit_display()}" if obj.extension_period else "-"

    def has_add_permission(self, request):
        # The table holds one row per right and jurisdiction, seeded by a migration; a new
        # jurisdiction comes with a migration too (and the code that offers it).
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditAnchor)
class AuditAnchorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("seq", "created_col", "event_count", "short_digest", "short_hash")
    fields = ("seq", "created_at", "event_count", "digest", "prev_hash", "hash")
    ordering = ("-seq",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    @admin.display(description=_("waktu (WIB)"), ordering="created_at")
    def created_col(self, obj):
        return display.short_time(obj.created_at, zone=False)

    @admin.display(description=_("ringkasan"))
    def short_digest(self, obj):
        return obj.digest[:16]

    @admin.display(description=_("hash"))
    def short_hash(self, obj):
        return obj.hash[:16]


class VerbFilter(admin.SimpleListFilter):
    title = _("langkah")
    parameter_name = "verb"

    def lookups(self, request, model_admin):
        return [(verb, label) for verb, label in display.VERBS.items()]

    def queryset(self, request, queryset):
        return queryset.filter(verb=self.value()) if self.value() else queryset


@admin.register(RequestEvent)
class RequestEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every step of every request, as chained: read here, written only by the services."""

    list_display = ("request_ref", "seq", "verb_col", "actor_col", "from_to", "created_col", "anchor_id")
    list_select_related = ("actor",)
    list_filter = (VerbFilter, "actor_kind")
    search_fields = ("request__id",)  # the search box; get_search_results reads a reference
    search_help_text = _("Nomor permintaan, mis. DSR-2026-000123.")
    ordering = ("-pk",)  # the newest first, by the primary key's index (no sort of every event)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    fields = ("request", "seq", "verb", "actor", "actor_kind", "from_state", "to_state", "created_at", "note", "told",
              "note_digest", "told_digest", "prev_hash", "hash", "anchor")
    raw_id_fields = ("request", "actor", "anchor")

    def get_queryset(self, request):
        # The reference needs only the request's id and creation time.
        return super().get_queryset(request).select_related("request").defer(
            *[f"request__{f.name}" for f in RequestEvent._meta.get_field("request").related_model._meta.concrete_fields
              if f.name not in ("id", "created_at")]
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        pk = parse_reference(term)
        if pk is None and term.isdigit():
            pk = int(term)
        return (queryset.filter(request_id=pk) if pk is not None else queryset.none()), False

    @admin.display(description=_("permintaan"), ordering="request_id")
    def request_ref(self, obj):
        return obj.request.reference

    @admin.display(description=_("langkah"), ordering="verb")
    def verb_col(self, obj):
        return display.verb_label(obj.verb)

    @admin.display(description=_("pelaku"))
    def actor_col(self, obj):
        return display.actor_label(obj)

    @admin.display(description=_("dari → ke"))
    def from_to(self, obj):
        if not obj.to_state:
            return "-"
        return f"{display.state_label(obj.from_state) if obj.from_state else '-'} \u2192 {display.state_label(obj.to_state)}"

    @admin.display(description=_("waktu (WIB)"), ordering="created_at")
    def created_col(self, obj):
        return display.short_time(obj.created_at, zone=False)
