"""The Celery app: Redis broker in production, in-process (eager) execution by default."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "junoprivacy.settings")

app = Celery("junoprivacy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
