from django.apps import AppConfig


class DiaryConfig(AppConfig):
    name = "diary"
    verbose_name = "ePRO diary"
    default_auto_field = "django.db.models.BigAutoField"
