"""Retention rules: data a lawyer corrects, named by key in the data map."""


from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin


from ..models import RetentionRule


@admin.register(RetentionRule)
class RetentionRuleAdmin(SimpleHistoryAdmin):
    """Retention rules are data a lawyer corrects; the data map names them by `key`.

    They are seeded by a migration and referenced by key, so they are neither added nor
    deleted here, and the key never changes once set.
    """

    list_display = ("key", "title", "legal_basis", "period_display", "trigger", "action", "updated_at")
    list_filter = ("action", "trigger")
    search_fields = ("key", "title", "legal_basis")
    fields = (
        "key", "title", "legal_basis", "trigger", "period", "unit", "from_end_of_financial_year", "action",
        "warning_days", "notes",
        "updated_at",
    )

    @admin.display(description=RetentionRule._meta.get_field("period").verbose_name, ordering="period")
    def period_display(self, obj):
        return obj.period_display

    def get_readonly_fields(self, request, obj=None):
        return ("key", "updated_at") if obj is not None else ("updated_at",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
