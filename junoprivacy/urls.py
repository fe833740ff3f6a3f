from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _

from consent.api import api
from consent.api.auth import activate_caller_language
from consent.api.errors import error_body
from junoprivacy.admin_site import JunoAdminSite

# Every app registers on admin.site: it stays the site, with a second factor and a login page of
# the project's own (junoprivacy/admin_site.py).
admin.site.__class__ = JunoAdminSite
admin.site.site_header = "JUNO Privacy"
admin.site.site_title = "JUNO Privacy"
admin.site.index_title = _("Kepatuhan data pribadi JUNOPOS")

# The API is consent's (consent/api); the requests app adds its data-subject requests to it here,
# where the apps are composed (consent never imports requests_portal).
api.add_router("/requests", "requests_portal.apis.router")


def api_not_found(request, rest=""):
    """Every answer under /api/v1/ is JSON, an unknown path too."""
    activate_caller_language(request)
    return JsonResponse(error_body("not_found", _("Tidak ditemukan.")), status=404)


urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    # The JSON API for JUNOPOS (consent/api), outside the language patterns: its language is the
    # caller's Accept-Language.
    path("api/v1/", api.urls),
    re_path(r"^api/v1/(?P<rest>.*)$", api_not_found),
]
# The admin is in the language patterns too: /admin/ in Indonesian, /en/admin/ in English.
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("", include("requests_portal.urls")),
    prefix_default_language=False,
)
