from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Pesan keluar")

    def ready(self):
        from . import tasks  # noqa: F401  (registered by name: services queue them without importing them)
