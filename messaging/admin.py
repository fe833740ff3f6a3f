"""The outbox as officers see it: what was sent to whom, when, and with what outcome."""

from django.contrib import admin

from junoprivacy.admin_tools import ReadOnlyAdminMixin
from junoprivacy.pagination import EstimatedCountPaginator

from .models import OutboundMessage


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "kind", "channel", "to_email", "to_phone", "state", "attempts", "created_at", "sent_at")
    list_filter = ("state", "kind", "channel")
    search_fields = ("=to_email", "=to_phone", "=merchant__id")
    date_hierarchy = "created_at"
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    fields = (
        "kind", "channel", "to_email", "to_phone", "merchant", "language", "state", "attempts", "created_at",
        "sent_at", "last_error", "subject", "body",
    )
    readonly_fields = fields
