"""The portal's URLs, unchanged, plus `/bench/minimal/`: the baseline of bench/requests.py.

The baseline is the least a Django page costs on this server: a bare view returning a small
HTML page, behind the same middleware (security, CSP, whitenoise, sessions, locale, common,
CSRF, auth, OTP, messages, clickjacking, history, axes) in the same gunicorn workers, touching
neither the database nor a template.
"""

from django.http import HttpResponse
from django.urls import path

from junoprivacy.urls import urlpatterns as portal_urlpatterns

PAGE = (
    b'<!doctype html>\n<html lang="id">\n<head><meta charset="utf-8">'
    b'<meta name="viewport" content="width=device-width, initial-scale=1">'
    b"<title>JUNO Privacy</title></head>\n<body><main><h1>JUNO Privacy</h1>"
    b"<p>Halaman dasar tolok ukur.</p></main></body>\n</html>\n"
)


def minimal(request):
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


# Kept flat (not include()d): i18n_patterns must stay at the top of the root URLconf.
urlpatterns = [path("bench/minimal/", minimal, name="bench_minimal"), *portal_urlpatterns]
