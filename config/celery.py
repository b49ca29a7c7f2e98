"""The Celery application; web, worker and beat share it."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("epro")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
