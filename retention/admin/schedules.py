"""Purge schedules: churned merchants, their warnings with delivery, dry runs and reactivation."""


from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from junoprivacy.admin_tools import confirm_action, is_confirmed
from junoprivacy.pagination import EstimatedCountPaginator

from .. import services
from ..exceptions import RetentionError
from ..models import ChurnEvent, PurgeSchedule, PurgeWarning
from ..selectors import purge_timeline


class ChurnForm(forms.Form):
    merchant = forms.IntegerField(label=_("ID merchant"), min_value=1)
    churned_at = forms.DateTimeField(label=_("Berhenti pada"), required=False, help_text=_("Kosongkan untuk sekarang."))


def _delivery(warning: PurgeWarning) -> str:
    message = warning.message
    if message is None:
        return str(_("tanpa alamat, dicatat %(at)s") % {"at": timezone.localtime(warning.created_at).strftime("%Y-%m-%d %H:%M")})
    when = message.sent_at or message.created_at
    return f"{message.get_state_display()} {timezone.localtime(when):%Y-%m-%d %H:%M}"


class PurgeWarningInline(admin.TabularInline):
    """Each warning with its delivery: to whom (a keyed hash after the purge), when, outcome."""

    model = PurgeWarning
    fields = ("days", "created_at", "recipient", "delivery", "attempts", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("message")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("penerima"))
    def recipient(self, obj):
        return obj.message.to_email if obj.message else "-"

    @admin.display(description=_("hasil pengiriman"))
    def delivery(self, obj):
        return _delivery(obj)

    @admin.display(description=_("percobaan"))
    def attempts(self, obj):
        return obj.message.attempts if obj.message else 0

    @admin.display(description=_("galat terakhir"))
    def last_error(self, obj):
        return obj.message.last_error if obj.message else ""


@admin.register(PurgeSchedule)
class PurgeScheduleAdmin(admin.ModelAdmin):
    """Churned merchants and their purge: due date, warnings, state. Changes go through services."""

    list_display = ("merchant_id", "merchant_name", "state", "churned_at", "due_display", "warnings_display", "purged_at")
    list_select_related = ("merchant", "rule")
    inlines = (PurgeWarningInline,)
    list_filter = ("state", "due_at")
    search_fields = ("=merchant__id", "merchant__business_name")

    class Media:
        css = {"all": ("admin/retention.css",)}
    ordering = ("due_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    actions = ("dry_run", "reactivate")
    readonly_fields = ("merchant", "rule", "churned_at", "due_at", "not_before", "state", "purged_at", "updated_at")
    change_list_template = "admin/retention/purgeschedule/change_list.html"

    @admin.display(description=_("nama usaha"), ordering="merchant__business_name")
    def merchant_name(self, obj):
        return obj.merchant.business_name

    @admin.display(description=_("jatuh tempo"), ordering="due_at")
    def due_display(self, obj):
        """The rule's due date, and when the purge may really start (after its warnings): red when
        that moment has passed and the schedule still waits."""
        local = timezone.localtime(obj.due_at).strftime("%Y-%m-%d %H:%M")
        if obj.state != PurgeSchedule.State.SCHEDULED:
            return local
        not_before = purge_timeline(obj, now=timezone.now()).not_before
        if not_before is None:
            return format_html("{}<br><small>{}</small>", local, _("menunggu peringatan"))
        if not_before <= timezone.now():
            return format_html('<strong class="retention-overdue">{}</strong>', local)
        if not_before > obj.due_at:
            return format_html("{}<br><small>{} {}</small>", local, _("paling cepat"),
                               timezone.localtime(not_before).strftime("%Y-%m-%d %H:%M"))
        return local

    @admin.display(description=_("dapat dihapus paling cepat"))
    def not_before(self, obj):
        when = purge_timeline(obj, now=timezone.now()).not_before
        if when is None:
            return _("menunggu peringatan 14 dan 3 hari terkirim")
        return timezone.localtime(when).strftime("%Y-%m-%d %H:%M")

    @admin.display(description=_("peringatan"))
    def warnings_display(self, obj):
        # Prefetched with their messages (get_queryset): no query per row.
        given = [w for w in obj.warnings.all() if w.created_at >= obj.churned_at]
        return format_html_join(mark_safe("<br>"), "H-{}: {}", ((w.days, _delivery(w)) for w in given)) or "-"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("warnings__message")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read-only: churn, reactivation and dry runs go through services

    def has_record_churn_permission(self, request):
        return request.user.has_perm("retention.record_churn")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_churn": request.user.has_perm("retention.record_churn")}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path("churn/", self.admin_site.admin_view(self.churn_view), name="retention_purgeschedule_churn"),
        ] + super().get_urls()

    def churn_view(self, request):
        if not request.user.has_perm("retention.record_churn"):
            raise PermissionDenied
        form = ChurnForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                schedule = services.merchant_churn(
                    merchant_id=form.cleaned_data["merchant"], churned_at=form.cleaned_data["churned_at"],
                    source=ChurnEvent.Source.ADMIN, actor=request.user,
                )
            except RetentionError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    _("Merchant %(id)s dicatat berhenti; penghapusan jatuh tempo %(due)s.")
                    % {"id": schedule.merchant_id, "due": timezone.localtime(schedule.due_at).strftime("%Y-%m-%d %H:%M")},
                    messages.SUCCESS,
                )
                return redirect("admin:retention_purgeschedule_changelist")
        context = {**self.admin_site.each_context(request), "title": _("Catat merchant berhenti"), "form": form,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/retention/purgeschedule/churn.html", context)

    @admin.action(description=_("Uji coba penghapusan (hitung saja, tanpa mengubah data)"), permissions=["view"])
    def dry_run(self, request, queryset):
        for schedule in queryset:
            run = services.merchant_purge_dry_run(merchant_id=schedule.merchant_id, actor=request.user)
            self.message_user(
                request,
                format_html(
                    _('Merchant {}: <a href="{}">uji coba #{}</a>, {} baris akan dihapus atau dianonimkan.'),
                    schedule.merchant_id, reverse("admin:retention_erasurerun_change", args=[run.pk]), run.pk,
                    run.rows_total,
                ),
            )

    @admin.action(description=_("Merchant aktif kembali (batalkan penghapusan)"), permissions=["record_churn"])
    def reactivate(self, request, queryset):
        if not is_confirmed(request):
            return confirm_action(
                self, request, queryset, title=_("Batalkan penghapusan?"), action="reactivate",
                question=_("Merchant berikut dicatat aktif kembali dan penghapusannya dibatalkan."),
                objects=[f"{s.merchant_id} {s.merchant.business_name}" for s in queryset.select_related("merchant")],
            )
        for schedule in queryset:
            try:
                services.merchant_reactivate(merchant_id=schedule.merchant_id, source=ChurnEvent.Source.ADMIN, actor=request.user)
            except RetentionError as exc:
                self.message_user(request, f"{schedule.merchant_id}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("Merchant %(id)s aktif kembali.") % {"id": schedule.merchant_id})
