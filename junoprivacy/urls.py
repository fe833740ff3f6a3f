from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

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
