"""The portal's URLs, unchanged, plus the benchmarks' baselines: `/bench/minimal/` (the baseline
of bench/requests.py) and `/bench/minimal.json` (that of bench/consent.py).

A baseline is the least a Django page costs on this server: a bare view returning a small body,
behind the same middleware (security, CSP, whitenoise, sessions, locale, common, CSRF, auth, OTP,
messages, clickjacking, history, axes) in the same gunicorn workers, touching neither the database
nor a template. The JSON one answers a POST as the API does (CSRF-exempt, as the API's bearer-token
views are), with a body the size of a consent check's answer; it does not read the request's body.
"""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from junoprivacy.urls import urlpatterns as portal_urlpatterns

PAGE = (
    b'<!doctype html>\n<html lang="id">\n<head><meta charset="utf-8">'
    b'<meta name="viewport" content="width=device-width, initial-scale=1">'
    b"<title>JUNO Privacy</title></head>\n<body><main><h1>JUNO Privacy</h1>"
    b"<p>Halaman dasar tolok ukur.</p></main></body>\n</html>\n"
)
JSON_BODY = (
    b'{"allowed": true, "purpose": "marketing", "basis": "consent", "reason": "consent_given", '
    b'"event_id": 1234567, "decided_at": "2026-03-14T09:26:53.589793+07:00"}'
)


def minimal(request):
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


@csrf_exempt
def minimal_json(request):
    return HttpResponse(JSON_BODY, content_type="application/json")


# Kept flat (not include()d): i18n_patterns must stay at the top of the root URLconf.
urlpatterns = [
    path("bench/minimal/", minimal, name="bench_minimal"),
    path("bench/minimal.json", minimal_json, name="bench_minimal_json"),
    *portal_urlpatterns,
]
