"""Erasure runs (the proof of every erasure, progress while running, retry of failures) and churn events."""

import json

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, Q
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from junoprivacy.admin_tools import ReadOnlyAdminMixin, confirm_action, is_confirmed
from junoprivacy.pagination import EstimatedCountPaginator

from .. import services
from ..exceptions import RetentionError
from ..models import ChurnEvent, ErasureRun


class RunStateFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return ErasureRun.State.choices

    def queryset(self, request, queryset):
        return queryset.filter(state=self.value()) if self.value() else queryset


@admin.register(ErasureRun)
class ErasureRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The proof of every erasure: progress while it runs, counts when done, failures to retry."""

    list_display = ("id", "kind", "state_display", "merchant_ref", "rule", "dry_run", "progress", "started_at", "finished_at", "why")
    list_select_related = ("rule",)
    list_filter = (RunStateFilter, "kind", "dry_run")
    search_fields = ("=merchant_ref",)
    ordering = ("-created_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    actions = ("retry",)
    fields = (
        "kind", "state", "dry_run", "merchant_ref", "rule", "requested_by", "retry_of", "created_at", "started_at",
        "heartbeat_at", "finished_at", "attempts", "progress", "counts_table", "subject_hashes_display", "stop_reason", "error",
    )
    readonly_fields = fields
    change_form_template = "admin/retention/erasurerun/change_form.html"

    class Media:
        css = {"all": ("admin/retention.css",)}

    @admin.display(description=_("status"), ordering="state")
    def state_display(self, obj):
        return format_html('<span class="run-state-{}">{}</span>', obj.state, obj.get_state_display())

    @admin.display(description=_("kemajuan"))
    def progress(self, obj):
        if obj.state == ErasureRun.State.RUNNING and obj.rows_total < obj.rows_done:
            # a first attempt counts what is left only after its first second: not yet known
            return format_html('<progress title="{}"></progress> {} / ?', obj.rows_done, obj.rows_done)
        percent = obj.progress_percent
        return format_html(
            '<progress value="{}" max="100" title="{} / {}"></progress> {}% ({} / {})',
            percent, obj.rows_done, obj.rows_total, percent, obj.rows_done, obj.rows_total,
        )

    @admin.display(description=_("alasan / galat"))
    def why(self, obj):
        text = obj.error or obj.stop_reason
        return text if len(text) <= 80 else text[:77] + "..."

    @admin.display(description=_("jumlah per tabel"))
    def counts_table(self, obj):
        rows = [(t, a, n) for t, actions in sorted(obj.counts.items()) for a, n in sorted(actions.items())]
        if not rows:
            return "-"
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td class='retention-number'>{}</td></tr>", rows,
        )
        return format_html("<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
                           _("tabel"), _("tindakan"), _("jumlah"), body)

    @admin.display(description=_("pseudonim pengenal"))
    def subject_hashes_display(self, obj):
        return json.dumps(obj.subject_hashes, indent=1) if obj.subject_hashes else "-"

    @admin.action(description=_("Ulangi penghapusan yang gagal"), permissions=["retry"])
    def retry(self, request, queryset):
        failed = queryset.filter(
            Q(state=ErasureRun.State.FAILED, kind=ErasureRun.Kind.MERCHANT_PURGE)
            | Q(state__in=[ErasureRun.State.FAILED, ErasureRun.State.STOPPED], kind=ErasureRun.Kind.SUBJECT_ERASURE,
                dry_run=False)
        ).exclude(Exists(ErasureRun.objects.filter(retry_of=OuterRef("pk"))))  # retried already: its retry is next
        if not is_confirmed(request):
            return confirm_action(
                self, request, failed, title=_("Ulangi penghapusan?"), action="retry",
                question=_("Penghapusan berikut diantrikan lagi dan dilanjutkan dari titik terakhir (yang sudah "
                           "terhapus tidak diulang; penahanan hukum diperiksa lagi)."),
                objects=[self._retry_line(r) for r in failed],
            )
        for run in failed:
            retry_service = (
                services.subject_erasure_retry if run.kind == ErasureRun.Kind.SUBJECT_ERASURE else services.purge_retry
            )
            try:
                retry = retry_service(run_id=run.pk, actor=request.user)
            except RetentionError as exc:
                self.message_user(request, f"#{run.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("Penghapusan #%(old)s diulang sebagai #%(new)s.") % {"old": run.pk, "new": retry.pk})

    @staticmethod
    def _retry_line(run: ErasureRun) -> str:
        if run.kind == ErasureRun.Kind.SUBJECT_ERASURE:
            return _("#%(id)s subjek: %(why)s") % {"id": run.pk, "why": run.error or run.stop_reason}
        return f"#{run.pk} merchant {run.merchant_ref}: {run.error}"

    def has_retry_permission(self, request):
        return request.user.has_perm("retention.retry_erasurerun")


@admin.register(ChurnEvent)
class ChurnEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("merchant_id", "kind", "at", "source", "actor", "recorded_at")
    list_select_related = ("actor",)
    list_filter = ("kind", "source")
    search_fields = ("=merchant__id",)
    date_hierarchy = "recorded_at"
    paginator = EstimatedCountPaginator
    show_full_result_count = False
