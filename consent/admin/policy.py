"""Policy versions (drafts edited, then published through the service) and their notices' progress."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from junoprivacy.admin_tools import ReadOnlyAdminMixin
from junoprivacy.pagination import EstimatedCountPaginator

from .. import services
from ..exceptions import ConsentError
from ..models import PolicyAcceptance, PolicyNotice, PolicyVersion, content_hash
from ..services.policy import _active_merchants  # the merchants the notice will tell, as it counts them
from .common import wib

DRAFT_FIELDS = ("version", "effective_at", "summary_id", "summary_en", "text_id", "text_en")
PUBLISHED_FIELDS = (
    "version", "effective_at", "published_at_display", "published_by", "content_hash", "summary_id", "summary_en",
    "text_id", "text_en", "notice_progress", "acceptances_display",
)


def progress_bar(notice: PolicyNotice | None) -> str:
    """done / total as a <progress> element (attributes, not a style: the CSP refuses inline styles)."""
    if notice is None:
        return "-"
    total = notice.merchants_total
    handled = notice.merchants_done + notice.merchants_skipped
    if not total:
        return format_html('<progress class="consent-progress"></progress> {} / ?', handled)
    percent = min(100, round(100 * handled / total))
    return format_html(
        '<progress class="consent-progress" value="{}" max="{}"></progress> {}% ({} / {})',
        handled, total, percent, notice.merchants_done, total,
    )


def state_badge(notice: PolicyNotice) -> str:
    return format_html('<span class="consent-state-{}">{}</span>', notice.state, notice.get_state_display())


def notice_of(version: PolicyVersion) -> PolicyNotice | None:
    try:
        return version.notice
    except PolicyNotice.DoesNotExist:
        return None


@admin.register(PolicyVersion)
class PolicyVersionAdmin(SimpleHistoryAdmin):
    """Drafts are edited; publishing (its own permission) fixes the texts by their hash and tells
    every active merchant; a published version is read-only for everyone."""

    list_display = ("version", "status", "effective_display", "published_display", "notice_display", "acceptance_count")
    list_select_related = ("notice",)
    ordering = ("-effective_at", "-id")
    actions = None
    change_form_template = "admin/consent/policyversion/change_form.html"

    class Media:
        css = {"all": ("admin/consent.css",)}

    def get_queryset(self, request):
        accepted = (
            PolicyAcceptance.objects.filter(version=OuterRef("pk")).order_by().values("version")
            .annotate(n=Count("pk")).values("n")
        )
        return super().get_queryset(request).annotate(acceptances_n=Coalesce(Subquery(accepted), 0))

    def get_fields(self, request, obj=None):
        return PUBLISHED_FIELDS if obj is not None and obj.is_published else DRAFT_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return PUBLISHED_FIELDS if obj is not None and obj.is_published else ()

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("status"))
    def status(self, obj):
        return _("diterbitkan") if obj.is_published else _("draf")

    @admin.display(description=gettext_lazy("berlaku sejak (WIB)"), ordering="effective_at")
    def effective_display(self, obj):
        return wib(obj.effective_at)

    @admin.display(description=gettext_lazy("diterbitkan (WIB)"), ordering="published_at")
    def published_display(self, obj):
        return wib(obj.published_at)

    @admin.display(description=gettext_lazy("diterbitkan (WIB)"))
    def published_at_display(self, obj):
        return wib(obj.published_at)

    @admin.display(description=gettext_lazy("pemberitahuan ke merchant"))
    def notice_display(self, obj):
        notice = notice_of(obj)
        if notice is None:
            return "-"
        return format_html("{} {}", state_badge(notice), progress_bar(notice))

    @admin.display(description=gettext_lazy("diterima merchant"), ordering="acceptances_n")
    def acceptance_count(self, obj):
        return obj.acceptances_n

    @admin.display(description=gettext_lazy("diterima merchant"))
    def acceptances_display(self, obj):
        return PolicyAcceptance.objects.filter(version=obj).count()

    @admin.display(description=gettext_lazy("pemberitahuan ke merchant"))
    def notice_progress(self, obj):
        notice = notice_of(obj)
        if notice is None:
            return _("Tidak ada pemberitahuan (versi ini berlaku sebelum portal mencatat).")
        link = reverse("admin:consent_policynotice_change", args=[notice.pk])
        return format_html(
            '{} {}<br>{}: {} · {}: {} · {}: {} · <a href="{}">{}</a>',
            state_badge(notice), progress_bar(notice),
            _("dilewati (tanpa e-mail)"), notice.merchants_skipped, _("percobaan"), notice.attempts,
            _("terakhir aktif"), wib(notice.heartbeat_at), link, _("rincian"),
        )

    # -- publishing --

    def get_urls(self):
        return [
            path("<int:version_id>/publish/", self.admin_site.admin_view(self.publish_view),
                 name="consent_policyversion_publish"),
        ] + super().get_urls()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_publish"] = (
            obj is not None and not obj.is_published and request.user.has_perm("consent.publish_policyversion")
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def publish_view(self, request, version_id):
        version = get_object_or_404(PolicyVersion, pk=version_id)
        if not request.user.has_perm("consent.publish_policyversion"):
            raise PermissionDenied
        change_url = reverse("admin:consent_policyversion_change", args=[version.pk])
        if version.is_published:
            self.message_user(request, _("Versi %(version)s sudah diterbitkan.") % {"version": version.version}, messages.ERROR)
            return redirect(change_url)
        if request.method == "POST" and request.POST.get("confirmed") == "yes":
            try:
                services.policy_publish(version_id=version.pk, actor=request.user)
            except ConsentError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, _(
                    "Versi %(version)s diterbitkan; pemberitahuan ke merchant aktif sedang dikirim."
                ) % {"version": version.version})
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Terbitkan versi %(version)s?") % {"version": version.version},
            "opts": self.model._meta,
            "original": version,
            "hash": content_hash(version.text_id, version.text_en),
            "merchants": _active_merchants().count(),
            "effective": wib(version.effective_at),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/consent/policyversion/publish.html", context)


@admin.register(PolicyNotice)
class PolicyNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The fan-out of each published version: progress while it runs (worked by Celery; a stalled
    one is resumed every minute by beat)."""

    list_display = ("version", "state_display", "progress", "merchants_skipped", "attempts", "started_display",
                    "heartbeat_display", "finished_display")
    list_select_related = ("version",)
    list_filter = ("state",)
    ordering = ("-created_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    fields = ("version", "state", "progress", "merchants_total", "merchants_done", "merchants_skipped", "attempts",
              "created_at", "started_at", "heartbeat_at", "finished_at", "error")
    readonly_fields = fields
    change_form_template = "admin/consent/policynotice/change_form.html"

    class Media:
        css = {"all": ("admin/consent.css",)}

    @admin.display(description=gettext_lazy("status"), ordering="state")
    def state_display(self, obj):
        return state_badge(obj)

    @admin.display(description=gettext_lazy("kemajuan"))
    def progress(self, obj):
        return progress_bar(obj)

    @admin.display(description=gettext_lazy("mulai (WIB)"), ordering="started_at")
    def started_display(self, obj):
        return wib(obj.started_at)

    @admin.display(description=gettext_lazy("terakhir aktif (WIB)"), ordering="heartbeat_at")
    def heartbeat_display(self, obj):
        return wib(obj.heartbeat_at)

    @admin.display(description=gettext_lazy("selesai (WIB)"), ordering="finished_at")
    def finished_display(self, obj):
        return wib(obj.finished_at)
