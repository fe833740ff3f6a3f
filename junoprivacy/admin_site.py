"""The admin's front door: a second factor for staff, failed logins throttled, a login page that
speaks Indonesian properly.

The project registers its models on `django.contrib.admin.site` in every app's admin.py, so
that object stays the site: junoprivacy/urls.py gives it the class below. With
`ADMIN_REQUIRE_OTP` (default: on unless DEBUG) a staff user sees the admin only once a TOTP
device of theirs (django-otp) verified the login; a user without a device is told how to get
one. django-axes refuses a username and IP address pair after `AXES_FAILURE_LIMIT` failures
for `AXES_COOLOFF_MINUTES` and shows `lockout_response`'s page.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

NO_DEVICE_MESSAGE = _(
    "Akun ini belum memiliki perangkat verifikasi dua langkah, dan admin memerlukannya. "
    "Mintalah superuser menambahkan perangkat TOTP untuk akun Anda di admin (TOTP devices), "
    "lalu pindai kode QR perangkat itu dengan aplikasi autentikator di ponsel Anda, "
    "misalnya FreeOTP atau Google Authenticator."
)


class AxesBackend(AxesStandaloneBackend):
    """Axes' lockout check for every login that comes with a request (the admin's always does).

    authenticate() without a request (a shell, a management command, a test of a password) has
    no IP address to count against: it goes on to the next backend instead of failing, as
    axes' own backend would.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


class AdminLoginForm(OTPAdminAuthenticationForm):
    """Password, then (when required) a TOTP code; every message written in Indonesian.

    Django's Indonesian catalog fills the admin's %(username)s with the field's own name
    ("nama pengguna nama pengguna"): this form has a message of its own.
    """

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _(
            "Nama pengguna atau kata sandi salah, atau akun ini bukan akun staf. "
            "Keduanya membedakan huruf besar dan huruf kecil."
        ),
        "no_device": NO_DEVICE_MESSAGE,
    }
    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": _("Masukkan kode verifikasi dari aplikasi autentikator Anda."),
        "invalid_token": _("Kode verifikasi salah atau sudah kedaluwarsa. Masukkan kode yang sedang tampil."),
        "device_required": _("Pilih perangkat yang menghasilkan kode verifikasi Anda."),
        "n_failed_attempts": ngettext_lazy(
            "Verifikasi dihentikan sementara setelah %(failure_count)d percobaan gagal. Coba lagi sebentar lagi.",
            "Verifikasi dihentikan sementara setelah %(failure_count)d percobaan gagal. Coba lagi sebentar lagi.",
            "failure_count",
        ),
        "verification_not_allowed": _("Verifikasi kode sedang dihentikan sementara. Coba lagi nanti."),
    }

    otp_token = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"})
    )

    device_count = 0  # the user's devices, once the password is right: a choice from two on

    @property
    def otp_required(self) -> bool:
        return settings.ADMIN_REQUIRE_OTP

    def clean(self):
        self.cleaned_data = AdminAuthenticationForm.clean(self)  # password, active, staff
        if not self.otp_required:
            return self.cleaned_data
        user = self.get_user()
        devices = list(devices_for_user(user))
        self.device_count = len(devices)
        if not devices:
            raise ValidationError(self.error_messages["no_device"], code="no_device")
        if not self.cleaned_data.get("otp_device") and len(devices) == 1:
            # One device cannot be the wrong one: no need to make the user pick it.
            self.cleaned_data["otp_device"] = devices[0].persistent_id
        self.clean_otp(user)
        return self.cleaned_data


class JunoAdminSite(OTPAdminSite):
    """`admin.site`'s class: django-otp's site when ADMIN_REQUIRE_OTP is on, Django's otherwise
    (read at each request, so that a test can switch it)."""

    login_form = AdminLoginForm
    # templates/admin/login.html: Django's page with the code field, in the project's words.
    login_template = "admin/login.html"

    def has_permission(self, request):
        if settings.ADMIN_REQUIRE_OTP:
            return super().has_permission(request)
        return admin.AdminSite.has_permission(self, request)

    def get_urls(self):
        from requests_portal.admin.dossier import dossier_urls  # the regulator's view, requests_portal's own

        return dossier_urls(self) + super().get_urls()

    def get_app_list(self, request, app_label=None):
        from requests_portal.admin.dossier import with_dossier_link

        return with_dossier_link(request, super().get_app_list(request, app_label))

    def login(self, request, extra_context=None):
        user = request.user
        context = {"otp_required": settings.ADMIN_REQUIRE_OTP}
        if settings.ADMIN_REQUIRE_OTP and user.is_active and user.is_staff and not list(devices_for_user(user)):
            # Signed in with a password elsewhere, but no device to verify with.
            context["otp_enrol_message"] = NO_DEVICE_MESSAGE
        return super().login(request, extra_context={**context, **(extra_context or {})})


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the lockout page, in the language of the request."""
    cool_off = get_cool_off(request)
    context = {
        "site_header": admin.site.site_header,
        "site_title": admin.site.site_title,
        "title": _("Terlalu banyak percobaan masuk"),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    }
    return render(request, "admin/lockout.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
