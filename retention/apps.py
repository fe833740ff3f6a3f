from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retensi dan penghapusan")

    def ready(self):
        from . import checks  # noqa: F401  (registers the data-map system check)
        from . import tasks  # noqa: F401  (registered by name: services queue them without importing them)

        # Each app declares its personal data in its own datamap.py, as admin.py is found.
        autodiscover_modules("datamap")
