"""Clients of the JUNOPOS API: created, rotated and revoked through consent.services; a token is
shown once, in the answer to the step that made it, and kept nowhere but as its hash."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from junoprivacy.admin_tools import confirm_action, is_confirmed

from .. import services
from ..exceptions import ConsentError
from ..models import ApiClient
from ..services.clients import callback_key
from .common import wib


class ApiClientCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("cakupan"), choices=ApiClient.Scope.choices, widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiClient
        fields = ("name", "scopes", "all_merchants", "merchants", "callback_url", "rate_limit")

    def clean(self):
        data = super().clean()
        if not data.get("all_merchants") and not data.get("merchants"):
            raise ValidationError(gettext_lazy("Pilih merchant yang boleh dilayani klien ini, atau semua merchant."))
        return data

    def _post_clean(self):
        # The service builds and validates the client; the form's instance is never saved.
        pass


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ("name", "token_prefix_display", "scopes_display", "merchants_display", "active_display",
                    "last_used_display")
    list_filter = ("all_merchants",)
    search_fields = ("name", "=token_prefix")
    ordering = ("name",)
    actions = ("revoke", "rotate")
    raw_id_fields = ("merchants",)
    fields = ("name", "token_prefix_display", "scopes_display", "merchants_display", "callback_url",
              "callback_key_display", "rate_limit", "active_display", "created_by", "created_display",
              "revoked_display", "revoked_by", "last_used_display")
    readonly_fields = fields

    class Media:
        css = {"all": ("admin/consent.css",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(merchants_n=Count("merchants")).select_related(
            "created_by", "revoked_by",
        )

    # -- columns --

    @admin.display(description=gettext_lazy("awal token"))
    def token_prefix_display(self, obj):
        return format_html("<code>{}…</code>", obj.token_prefix)

    @admin.display(description=gettext_lazy("cakupan"))
    def scopes_display(self, obj):
        return ", ".join(obj.scopes) or "-"

    @admin.display(description=gettext_lazy("merchant"))
    def merchants_display(self, obj):
        if obj.all_merchants:
            return _("semua merchant")
        return _("%(n)s merchant") % {"n": obj.merchants_n}

    @admin.display(description=gettext_lazy("aktif"), boolean=True, ordering="revoked_at")
    def active_display(self, obj):
        return obj.is_active

    @admin.display(description=gettext_lazy("terakhir dipakai (WIB)"), ordering="last_used_at")
    def last_used_display(self, obj):
        return wib(obj.last_used_at)

    @admin.display(description=gettext_lazy("dibuat (WIB)"), ordering="created_at")
    def created_display(self, obj):
        return wib(obj.created_at)

    @admin.display(description=gettext_lazy("dicabut (WIB)"))
    def revoked_display(self, obj):
        return wib(obj.revoked_at)

    @admin.display(description=gettext_lazy("kunci tanda tangan callback (HMAC-SHA256)"))
    def callback_key_display(self, obj):
        return format_html(
            '<input type="text" class="consent-secret" readonly value="{}" aria-label="{}"><br>'
            '<span class="help">{}</span>',
            callback_key(obj), _("kunci tanda tangan callback"),
            _("Berikan kunci ini kepada tim JUNOPOS yang mengelola klien ini: dengannya mereka memeriksa "
              "tanda tangan setiap callback status."),
        )

    # -- permissions: created here, never edited in place, never deleted (the ledger names it) --

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("consent.change_apiclient")

    has_rotate_permission = has_revoke_permission

    # -- creating: the token in the answer to the POST, once --

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiClientCreateForm
            kwargs["fields"] = ApiClientCreateForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return self.fields if obj is not None else ApiClientCreateForm.Meta.fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        data = form.cleaned_data
        try:
            client, token = services.api_client_create(
                name=data["name"], scopes=data["scopes"], all_merchants=data["all_merchants"],
                merchant_ids=[] if data["all_merchants"] else [m.pk for m in data["merchants"]],
                callback_url=data.get("callback_url") or "", rate_limit=data.get("rate_limit"), actor=request.user,
            )
        except ConsentError as exc:
            raise PermissionDenied(exc.message) from exc
        obj.pk, obj.name = client.pk, client.name
        request._consent_new_tokens = [(client, token)]

    def save_related(self, request, form, formsets, change):
        pass  # the service set the merchants

    def response_add(self, request, obj, post_url_continue=None):
        return self._tokens_page(request, request._consent_new_tokens, created=True)

    def _tokens_page(self, request, tokens, *, created):
        context = {
            **self.admin_site.each_context(request),
            "title": _("Token klien API") if created else _("Token baru klien API"),
            "opts": self.model._meta,
            "tokens": tokens,
            "created": created,
        }
        response = TemplateResponse(request, "admin/consent/apiclient/token.html", context)
        response["Cache-Control"] = "no-store"
        return response

    # -- actions --

    @admin.action(description=gettext_lazy("Cabut klien API terpilih"), permissions=["revoke"])
    def revoke(self, request, queryset):
        active = queryset.filter(revoked_at__isnull=True)
        if not is_confirmed(request):
            return confirm_action(
                self, request, active, title=_("Cabut klien API?"), action="revoke",
                question=_("Token klien berikut langsung ditolak pada panggilan berikutnya. Ini tidak dapat dibatalkan; "
                           "klien baru memerlukan token baru."),
                objects=[f"{c.name} ({c.token_prefix}…)" for c in active],
            )
        for client in active:
            services.api_client_revoke(client_id=client.pk, actor=request.user)
            self.message_user(request, _("Klien %(name)s dicabut.") % {"name": client.name})

    @admin.action(description=gettext_lazy("Ganti token klien API terpilih"), permissions=["rotate"])
    def rotate(self, request, queryset):
        active = queryset.filter(revoked_at__isnull=True)
        if not is_confirmed(request):
            return confirm_action(
                self, request, active, title=_("Ganti token?"), action="rotate",
                question=_("Token lama klien berikut langsung berhenti berlaku; token baru ditampilkan sekali saja."),
                objects=[f"{c.name} ({c.token_prefix}…)" for c in active],
            )
        tokens = []
        for client in active:
            try:
                tokens.append(services.api_client_rotate(client_id=client.pk, actor=request.user))
            except ConsentError as exc:
                self.message_user(request, f"{client.name}: {exc.message}", messages.ERROR)
        if tokens:
            return self._tokens_page(request, tokens, created=False)
