"""The Celery app: Redis broker in production, in-process (eager) execution by default."""

import os

from celery import Celery
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "junoprivacy.settings")

app = Celery("junoprivacy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def enqueue_on_commit(task_name: str, *args) -> None:
    """Queue the task registered as `task_name` once the current transaction commits.

    Services queue tasks by name, so that a services module never imports its tasks module
    (which imports the services): each app's AppConfig.ready() imports its tasks, so every task
    is registered in every process. `robust`: a broker that is down is logged, never raised into
    the work that committed (the stalled-work sweep queues it again).
    """
    transaction.on_commit(lambda: app.tasks[task_name].delay(*args), robust=True)
