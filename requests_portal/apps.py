from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsPortalConfig(AppConfig):
    name = "requests_portal"
    verbose_name = _("Permintaan subjek data")

    def ready(self):
        from . import tasks  # noqa: F401  (registered by name for beat)
