"""Officers' views of the JUNOPOS data: read-mostly.

Rows come from JUNOPOS, so nothing is added here; nothing is deleted here either, because
erasure goes through the retention engine (the data map), never through Django's cascade
collector over millions of rows. Sales, their lines, payments and device sessions are
immutable records and are view-only; the other models can be corrected by a user holding the
change permission, and django-simple-history records who changed what.

Sales, sale lines, payments and device sessions run to millions of rows: their lists never
count the table (`EstimatedCountPaginator`, `show_full_result_count = False`), never sort on an
unindexed column, select their foreign keys in the same query, show them as raw ids in forms,
and offer a date drill-down that reads no dates from the table (templatetags/governed_admin.py).
A search for an e-mail or a phone number goes straight to the indexed columns (upper-cased
e-mail, E.164 phone), whichever way the number was typed.
"""

import re

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from junoprivacy.pagination import EstimatedCountPaginator

from . import services
from .identifiers import normalize_email, normalize_phone
from .models import BankAccount, DeviceSession, LoyaltyCustomer, Merchant, Outlet, Payment, Sale, SaleLine, StaffUser

# Digits with the usual separators, long enough to be a phone number rather than a name or id.
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{7,}$")


class GovernedChangeForm(forms.ModelForm):
    """A correction made in the admin is validated and normalised by the service that will save
    it (merchants.services.normalise_changes): a phone typed anew gets its E.164 column, a bad
    one is refused by the field, in the officer's language, and nothing is saved."""

    def clean(self):
        data = super().clean()
        if self.instance.pk is not None and not self.errors:
            try:
                services.normalise_changes(
                    type(self.instance), {f: data[f] for f in self.changed_data if f in data}, instance=self.instance
                )
            except ValidationError as exc:
                self.add_error(None, exc)
        return data


class GovernedDataAdmin(admin.ModelAdmin):
    """Base of every merchants admin: no add, no delete, bounded counts, subject search.

    A correction is saved by the service (merchants.services.governed_update), never by the
    form: the same normalisation as every other write, and history naming the officer.

    `email_fields` and `phone_fields` (E.164 columns) name where a search term that is an
    e-mail address or a phone number is looked up, exactly and on their indexes; any other
    term goes to `search_fields` as usual.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    email_fields: tuple[str, ...] = ()
    phone_fields: tuple[str, ...] = ()

    form = GovernedChangeForm

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            raise PermissionDenied
        original = type(obj)._default_manager.get(pk=obj.pk)
        services.governed_update(
            instance=original, actor=request.user, **{f: form.cleaned_data[f] for f in form.changed_data}
        )
        obj.refresh_from_db()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if self.email_fields and "@" in term:
            email = normalize_email(term)
            match = Q()
            for field in self.email_fields:
                match |= Q(**{f"{field}__iexact": email})
            return queryset.filter(match), False
        if self.phone_fields and PHONE_LIKE.match(term):
            phone = normalize_phone(term)
            if phone:
                match = Q()
                for field in self.phone_fields:
                    match |= Q(**{field: phone})
                return queryset.filter(match), False
        return super().get_search_results(request, queryset, search_term)


class ImmutableRecordAdmin(GovernedDataAdmin):
    """Sales, lines, payments, sessions: records of what happened, shown and never edited."""

    # Sorting a list of millions by an unindexed column sorts the table: lists keep their
    # default order (newest id first, an index scan).
    sortable_by = ()
    # Its date drill-down offers the calendar instead of asking the table for its dates.
    change_list_template = "admin/merchants/big_table_change_list.html"

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Merchant)
class MerchantAdmin(GovernedDataAdmin, SimpleHistoryAdmin):
    list_display = (
        "business_name", "owner_name", "owner_email", "owner_phone", "plan",
        "subscription_started_at", "churned_at",
    )
    list_filter = ("plan", "churned_at", "country_of_origin")
    search_fields = ("business_name", "owner_name", "=tax_number")
    search_help_text = _("Cari nama usaha, nama pemilik, NPWP, e-mail atau nomor telepon pemilik.")
    email_fields = ("owner_email",)
    phone_fields = ("owner_phone_e164",)
    ordering = ("business_name",)
    # Churn is a retention event (it schedules the purge): it is recorded through the purge
    # schedules in the retention admin, never typed into this form.
    readonly_fields = ("owner_phone_e164", "churned_at", "created_at", "related_records")
    fieldsets = (
        (_("Usaha"), {"fields": ("business_name", "business_type", "tax_number", "office_address", "billing_address")}),
        (
            _("Pemilik"),
            {"fields": (
                "owner_name", "owner_gender", "owner_birth_date", "owner_id_number",
                "owner_email", "owner_phone", "owner_phone_e164",
            )},
        ),
        (
            _("Langganan"),
            {"fields": (
                "plan", "subscription_started_at", "churned_at", "preferred_language", "country_of_origin",
                "created_at",
            )},
        ),
        (_("Data terkait"), {"fields": ("related_records",)}),
    )

    @admin.display(description=_("data merchant ini"))
    def related_records(self, obj):
        # Links to lists filtered on this merchant: no counting, so cheap at any size.
        if obj is None or obj.pk is None:
            return "-"
        models = (Outlet, StaffUser, BankAccount, LoyaltyCustomer, Sale, Payment, DeviceSession)
        links = (
            (
                reverse(f"admin:merchants_{model._meta.model_name}_changelist") + f"?merchant__id__exact={obj.pk}",
                model._meta.verbose_name_plural,
            )
            for model in models
        )
        return format_html('<ul class="related-records">{}</ul>', format_html_join("", '<li><a href="{}">{}</a></li>', links))


@admin.register(Outlet)
class OutletAdmin(GovernedDataAdmin, SimpleHistoryAdmin):
    list_display = ("name", "merchant", "city", "created_at")
    list_select_related = ("merchant",)
    list_filter = ("city",)
    search_fields = ("name", "merchant__business_name")
    autocomplete_fields = ("merchant",)
    readonly_fields = ("created_at",)


@admin.register(StaffUser)
class StaffUserAdmin(GovernedDataAdmin, SimpleHistoryAdmin):
    list_display = ("name", "username", "merchant", "outlet", "email", "phone", "job_title", "authorisation_level", "is_active")
    list_select_related = ("merchant", "outlet")
    list_filter = ("authorisation_level", "is_active")
    search_fields = ("name", "username")
    search_help_text = _("Cari nama, nama akun, e-mail atau nomor telepon.")
    email_fields = ("email",)
    phone_fields = ("phone_e164",)
    autocomplete_fields = ("merchant", "outlet")
    readonly_fields = ("password_hash", "phone_e164", "created_at")


@admin.register(BankAccount)
class BankAccountAdmin(GovernedDataAdmin, SimpleHistoryAdmin):
    list_display = ("__str__", "account_holder", "merchant", "created_at")
    list_select_related = ("merchant",)
    list_filter = ("bank_name",)
    search_fields = ("account_holder", "merchant__business_name")
    autocomplete_fields = ("merchant",)
    readonly_fields = ("created_at",)


@admin.register(LoyaltyCustomer)
class LoyaltyCustomerAdmin(GovernedDataAdmin, SimpleHistoryAdmin):
    list_display = (
        "name", "merchant", "loyalty_card_number", "email", "phone", "gender", "points", "accepts_marketing",
        "created_at",
    )
    list_select_related = ("merchant",)
    list_filter = ("accepts_marketing", "gender")
    search_fields = ("name", "=loyalty_card_number")
    search_help_text = _("Cari nama, nomor kartu loyalitas, e-mail atau nomor telepon.")
    email_fields = ("email",)
    phone_fields = ("phone_e164",)
    raw_id_fields = ("merchant",)
    readonly_fields = ("phone_e164", "created_at")


class SaleLineInline(admin.TabularInline):
    model = SaleLine
    fields = ("product_name", "sku", "quantity", "unit_price", "line_total")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    fields = ("method", "bank_name", "card_masked", "reference", "amount", "paid_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Sale)
class SaleAdmin(ImmutableRecordAdmin):
    list_display = ("receipt_number", "merchant", "outlet", "cashier", "customer", "total", "sold_at")
    list_select_related = ("merchant", "outlet", "cashier", "customer")
    date_hierarchy = "sold_at"
    search_fields = ("receipt_number__exact",)
    search_help_text = _("Cari nomor struk, atau e-mail / nomor telepon struk digital.")
    email_fields = ("receipt_email",)
    phone_fields = ("receipt_phone_e164",)
    raw_id_fields = ("merchant", "outlet", "cashier", "customer")
    inlines = (SaleLineInline, PaymentInline)

    def get_queryset(self, request):
        # The change form shows the four foreign keys: one query, not four.
        return super().get_queryset(request).select_related(*self.list_select_related)


@admin.register(SaleLine)
class SaleLineAdmin(ImmutableRecordAdmin):
    list_display = ("product_name", "sku", "quantity", "unit_price", "line_total", "sale", "merchant")
    list_select_related = ("sale", "merchant")
    raw_id_fields = ("merchant", "sale")


@admin.register(Payment)
class PaymentAdmin(ImmutableRecordAdmin):
    list_display = ("sale", "method", "bank_name", "card_masked", "amount", "paid_at", "merchant")
    list_select_related = ("sale", "merchant")
    list_filter = ("method",)
    raw_id_fields = ("merchant", "sale")


@admin.register(DeviceSession)
class DeviceSessionAdmin(ImmutableRecordAdmin):
    list_display = ("started_at", "merchant", "staff", "device_id", "ip_address", "app_version", "os_name")
    list_select_related = ("merchant", "staff")
    date_hierarchy = "started_at"
    raw_id_fields = ("merchant", "staff")
