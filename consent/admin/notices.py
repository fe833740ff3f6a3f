"""Erasure notices to recipients: a read-only list, unconfirmed ones marked, and the one action
an officer takes (record the recipient's confirmation, with a note) through the service."""

from django.contrib import admin, messages
from django.template import engines
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from junoprivacy.admin_tools import ReadOnlyAdminMixin, is_confirmed

from .. import services
from ..exceptions import ConsentError, NotPermitted
from ..models import ErasureNotice
from .common import categories_label, wib

# The confirmation page with a note (confirm_action's page has no field for one).
ACKNOWLEDGE_PAGE = engines["django"].from_string("""{% extends "admin/base_site.html" %}{% load i18n %}
{% block content %}
<p>{{ question }}</p>
<ul>{% for item in objects %}<li>{{ item }}</li>{% empty %}<li>{% translate "Tidak ada yang memenuhi syarat." %}</li>{% endfor %}</ul>
{% if objects %}
<form method="post">{% csrf_token %}
  {% for obj in queryset %}<input type="hidden" name="{{ action_checkbox_name }}" value="{{ obj.pk }}">{% endfor %}
  <input type="hidden" name="action" value="acknowledge">
  <input type="hidden" name="confirmed" value="yes">
  <p><label for="id_note">{{ note_label }}</label><br>
  <textarea name="note" id="id_note" rows="4" cols="60"></textarea></p>
  <input type="submit" value="{% translate 'Ya, lanjutkan' %}">
  <a href="." class="button cancel-link">{% translate "Tidak, kembali" %}</a>
</form>
{% endif %}
{% endblock %}""")


@admin.register(ErasureNotice)
class ErasureNoticeAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Who was told of which erasure, and who confirmed. Written by consent.services.notices only."""

    list_display = ("recipient", "reference", "state_display", "categories_display", "sent_display",
                    "acknowledged_display", "acknowledged_by")
    list_filter = ("state", ("recipient", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("recipient", "acknowledged_by")
    search_fields = ("reference",)
    search_help_text = gettext_lazy("Rujukan permintaan atau penghapusan, persis.")
    ordering = ("-created_at", "-id")
    actions = ("acknowledge",)
    fields = ("recipient", "reference", "email_hash", "phone_hash", "categories_display", "disclosures",
              "last_disclosed_display", "language", "state_display", "message", "error", "created_display",
              "created_by", "sent_display", "acknowledged_display", "acknowledged_by", "acknowledgement_note")
    readonly_fields = fields

    class Media:
        css = {"all": ("admin/consent.css",)}

    def get_search_results(self, request, queryset, search_term):
        term = " ".join(search_term.split())
        return (queryset.filter(reference=term) if term else queryset), False

    @admin.display(description=gettext_lazy("status"), ordering="state")
    def state_display(self, obj):
        return format_html('<span class="consent-notice-{}">{}</span>', obj.state, obj.get_state_display())

    @admin.display(description=gettext_lazy("kategori data"))
    def categories_display(self, obj):
        return categories_label(obj.categories)

    @admin.display(description=gettext_lazy("terkirim"), ordering="sent_at")
    def sent_display(self, obj):
        return wib(obj.sent_at)

    @admin.display(description=gettext_lazy("dikonfirmasi"), ordering="acknowledged_at")
    def acknowledged_display(self, obj):
        return wib(obj.acknowledged_at)

    @admin.display(description=gettext_lazy("dibuat"))
    def created_display(self, obj):
        return wib(obj.created_at)

    @admin.display(description=gettext_lazy("pengungkapan terakhir"))
    def last_disclosed_display(self, obj):
        return wib(obj.last_disclosed_at)

    @admin.action(description=gettext_lazy("Catat konfirmasi penghapusan dari penerima"), permissions=["acknowledge"])
    def acknowledge(self, request, queryset):
        open_ = queryset.filter(state__in=[ErasureNotice.State.SENT, ErasureNotice.State.FAILED]).select_related(
            "recipient"
        )
        if not is_confirmed(request):
            context = {
                **self.admin_site.each_context(request),
                "title": _("Catat konfirmasi penerima?"),
                "question": _("Penerima berikut telah mengonfirmasi penghapusan data subjek. Tulis bagaimana "
                              "konfirmasi diterima (balasan e-mail, surat, telepon)."),
                "note_label": _("Catatan"),
                "objects": [str(n) for n in open_],
                "queryset": open_,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, ACKNOWLEDGE_PAGE, context)
        note = request.POST.get("note", "")
        for notice in open_:
            try:
                services.erasure_notice_acknowledge(notice_id=notice.pk, actor=request.user, note=note)
            except (ConsentError, NotPermitted) as exc:
                self.message_user(request, f"{notice}: {exc}", messages.ERROR)
            else:
                self.message_user(request, _("Konfirmasi %(notice)s dicatat.") % {"notice": notice})

    def has_acknowledge_permission(self, request):
        return request.user.has_perm("consent.change_erasurenotice")
