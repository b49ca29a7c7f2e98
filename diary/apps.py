from django.apps import AppConfig
from django.db.models.signals import post_migrate

from diary.enforcement import enforcement_apply


class DiaryConfig(AppConfig):
    name = "diary"
    verbose_name = "ePRO diary"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from diary import signals  # noqa: F401  (connects the audit receivers)

        # Once per migrate (sender: this app), after every app's migrations have run.
        post_migrate.connect(enforcement_apply, sender=self, dispatch_uid="diary_enforcement")
