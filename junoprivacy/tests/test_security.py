"""The admin keeps intruders out: failed logins throttled and logged (django-axes), a second
factor for staff (django-otp's TOTP), a Content Security Policy on every page (django-csp), and
a login error that reads well in Indonesian."""

import os
import re
import subprocess
import sys
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

PASSWORD = "kata-sandi-staf-2026"
LOGIN = "/admin/login/"
WRONG_LOGIN = "Nama pengguna atau kata sandi salah, atau akun ini bukan akun staf."


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("petugas", password=PASSWORD, is_staff=True)


@pytest.fixture
def otp_required(settings):
    settings.ADMIN_REQUIRE_OTP = True


def _post_login(client, username, password, *, address="127.0.0.1", path=LOGIN, **extra):
    data = {"username": username, "password": password, "next": "/admin/", **extra}
    return client.post(path, data, REMOTE_ADDR=address)


def _current_token(device):
    return str(TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()).zfill(device.digits)


# --- failed logins: django-axes ---------------------------------------------------------


def test_a_wrong_password_is_refused_in_indonesian_without_the_doubled_field_name(client, staff):
    response = _post_login(client, "petugas", "salah-sekali")
    html = response.content.decode()
    assert response.status_code == 200
    assert WRONG_LOGIN in html
    assert "nama pengguna nama pengguna" not in html.lower()
    assert "_auth_user_id" not in client.session


def test_failures_lock_out_the_username_from_that_address_only(client, staff):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _post_login(client, "petugas", "salah-sekali").status_code == 200
    locked = _post_login(client, "petugas", "salah-sekali")
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "dikunci sementara" in html and f"setelah {settings.AXES_FAILURE_LIMIT} kali gagal masuk" in html
    assert "30 menit" in html
    assert '<html lang="id"' in html
    # Even the right password is refused from that address for the cool-off...
    assert _post_login(client, "petugas", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # ...while the same person elsewhere, and another user here, are not locked out.
    assert _post_login(Client(), "petugas", PASSWORD, address="203.0.113.9").status_code == 302
    attempt = AccessAttempt.objects.get(username="petugas", ip_address="127.0.0.1")
    assert attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT


def test_behind_the_proxy_failures_count_per_client_not_per_proxy(client, staff, settings):
    settings.RATELIMIT_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    def attempt(c, password, forwarded):
        return c.post("/admin/login/", {"username": "petugas", "password": password, "next": "/admin/"},
                      REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded)

    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "salah-sekali", "198.51.100.7")
    assert attempt(client, PASSWORD, "198.51.100.7").status_code == 429
    # The owner, behind the same proxy from her own address, still gets in.
    assert attempt(Client(), PASSWORD, "203.0.113.9").status_code == 302
    # A forged left part of the header changes nothing: the proxy's own entry is the one counted.
    assert attempt(Client(), PASSWORD, "1.2.3.4, 198.51.100.7").status_code == 429


def test_the_lockout_page_follows_the_language_of_the_address(client, staff, settings):
    settings.AXES_FAILURE_LIMIT = 1
    response = _post_login(client, "petugas", "salah-sekali", path="/en/admin/login/")
    assert response.status_code == 429
    assert '<html lang="en"' in response.content.decode()


def test_failed_logins_are_visible_in_the_admin(admin_client, staff):
    _post_login(Client(), "petugas", "salah-sekali", address="198.51.100.7")
    response = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 200
    assert "198.51.100.7" in response.content.decode()


def test_logins_without_a_request_still_work_and_the_test_client_passes_one(client, staff):
    # A shell or a command has no address to count: axes lets it through (our AxesBackend).
    assert authenticate(username="petugas", password=PASSWORD) == staff
    # The test client's login is counted like a browser's when given a request, as axes documents.
    assert client.login(request=HttpRequest(), username="petugas", password=PASSWORD)
    assert client.get("/admin/").status_code == 200


# --- the second factor: django-otp ---------------------------------------------------------


def test_default_requires_the_second_factor_unless_debug():
    script = "import django; django.setup(); from django.conf import settings; print(settings.ADMIN_REQUIRE_OTP)"
    for debug, expected in (("false", "True"), ("true", "False")):
        env = {k: v for k, v in os.environ.items() if k != "ADMIN_REQUIRE_OTP"}
        env.update(DEBUG=debug, DJANGO_SETTINGS_MODULE="junoprivacy.settings")
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


def test_without_the_second_factor_a_password_is_enough(client, staff):
    assert "otp_token" not in client.get(LOGIN).content.decode()
    assert _post_login(client, "petugas", PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_password_alone_no_longer_opens_the_admin(client, staff, otp_required):
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_a_staff_user_without_a_device_is_told_how_to_get_one(client, staff, otp_required):
    response = _post_login(client, "petugas", PASSWORD, otp_token="123456")
    html = response.content.decode()
    assert response.status_code == 200
    assert "belum memiliki perangkat verifikasi dua langkah" in html and "TOTP devices" in html
    assert client.get("/admin/").status_code == 302
    # Signed in by a password some other way, they read the same on the login page.
    client.force_login(staff)
    assert "belum memiliki perangkat verifikasi dua langkah" in client.get(LOGIN).content.decode()


def test_a_valid_totp_code_opens_the_admin(client, staff, otp_required):
    device = TOTPDevice.objects.create(user=staff, name="Ponsel", confirmed=True)
    page = client.get(LOGIN).content.decode()
    assert 'name="otp_token"' in page and "Kode verifikasi:" in page
    response = _post_login(client, "petugas", PASSWORD, otp_token=_current_token(device))
    assert response.status_code == 302, response.content.decode()
    assert client.get("/admin/").status_code == 200


def test_a_wrong_or_missing_code_is_refused(client, staff, otp_required):
    TOTPDevice.objects.create(user=staff, name="Ponsel", confirmed=True)
    missing = _post_login(client, "petugas", PASSWORD)
    assert "Masukkan kode verifikasi dari aplikasi autentikator Anda." in missing.content.decode()
    wrong = _post_login(client, "petugas", PASSWORD, otp_token="000000")
    assert wrong.status_code == 200
    assert "Kode verifikasi salah atau sudah kedaluwarsa." in wrong.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_user_with_two_devices_picks_one(client, staff, otp_required):
    TOTPDevice.objects.create(user=staff, name="Ponsel lama", confirmed=True)
    device = TOTPDevice.objects.create(user=staff, name="Ponsel baru", confirmed=True)
    asked = _post_login(client, "petugas", PASSWORD, otp_token=_current_token(device))
    assert "Pilih perangkat yang menghasilkan kode verifikasi Anda." in asked.content.decode()
    assert "Ponsel baru" in asked.content.decode()
    response = _post_login(
        client, "petugas", PASSWORD, otp_token=_current_token(device), otp_device=device.persistent_id
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_superuser_enrols_a_device_with_its_qr_code(admin_client, staff):
    response = admin_client.post(
        reverse("admin:otp_totp_totpdevice_add"),
        {"user": staff.pk, "name": "Ponsel", "confirmed": "on", "key": "3132333435363738393031323334353637383930",
         "step": 30, "t0": 0, "digits": 6, "tolerance": 1, "drift": 0, "throttling_failure_count": 0},
    )
    assert response.status_code == 302, response.content.decode()
    device = TOTPDevice.objects.get(user=staff)
    config = admin_client.get(reverse("admin:otp_totp_totpdevice_config", args=[device.pk]))
    assert config.status_code == 200
    qrcode = admin_client.get(reverse("admin:otp_totp_totpdevice_qrcode", args=[device.pk]))
    assert qrcode.status_code == 200 and qrcode["Content-Type"] == "image/svg+xml"
    assert "JUNO%20Privacy" in device.config_url


def test_the_first_superuser_gets_in_with_a_one_time_code(client, django_user_model, otp_required):
    django_user_model.objects.create_superuser("admin", password=PASSWORD)
    out = StringIO()
    call_command("addstatictoken", "admin", stdout=out)
    code = out.getvalue().strip()
    assert _post_login(client, "admin", PASSWORD, otp_token=code).status_code == 302
    assert client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 200
    # One time only.
    other = Client()
    assert _post_login(other, "admin", PASSWORD, otp_token=code).status_code == 200
    assert other.get("/admin/").status_code == 302


# --- Content Security Policy: django-csp ---------------------------------------------------

# A script element that runs: neither loaded from a file nor data (json_script).
INLINE_SCRIPT = re.compile(r'<script(?![^>]*\b(?:src=|type="application/json"))([^>]*)>')

EXPECTED_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def _policy(response) -> dict:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.mark.parametrize("path", ["/", "/en/", LOGIN])
def test_public_pages_and_the_login_page_carry_the_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert _policy(response) == EXPECTED_POLICY


def test_admin_pages_carry_the_policy_and_need_no_inline_script(admin_client, staff):
    pages = [
        reverse("admin:index"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_change", args=[staff.pk]),
        reverse("admin:axes_accessattempt_changelist"),
        reverse("admin:otp_totp_totpdevice_add"),
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        assert _policy(response) == EXPECTED_POLICY, page
        html = response.content.decode()
        # script-src 'self' blocks inline scripts and event handlers: the admin must have none.
        assert not INLINE_SCRIPT.search(html), page
        assert not re.search(r"\son[a-z]+=", html), page


def test_the_one_inline_script_of_the_admin_runs_by_its_nonce(admin_client):
    # django-celery-beat's task form has an inline script: our copy of the template gives it the
    # request's nonce, which then appears in that page's policy only.
    response = admin_client.get(reverse("admin:django_celery_beat_periodictask_add"))
    assert response.status_code == 200
    nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9+/=]+)'", _policy(response)["script-src"]).group(1)
    inline = INLINE_SCRIPT.findall(response.content.decode())
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
    assert "readableCrontabs" in response.content.decode()


def test_the_lockout_page_carries_the_policy(client, staff, settings):
    settings.AXES_FAILURE_LIMIT = 1
    response = _post_login(client, "petugas", "salah-sekali")
    assert response.status_code == 429
    assert _policy(response) == EXPECTED_POLICY
