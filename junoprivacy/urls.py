from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from junoprivacy.admin_site import JunoAdminSite

# Every app registers on admin.site: it stays the site, with a second factor and a login page of
# the project's own (junoprivacy/admin_site.py).
admin.site.__class__ = JunoAdminSite
admin.site.site_header = "JUNO Privacy"
admin.site.site_title = "JUNO Privacy"
admin.site.index_title = _("Kepatuhan data pribadi JUNOPOS")

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
]
# The admin is in the language patterns too: /admin/ in Indonesian, /en/admin/ in English.
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("", include("requests_portal.urls")),
    prefix_default_language=False,
)
