"""Every staff role may read the reminder log of the participants in its scope."""

from django.db import migrations

GROUPS = ["Monitor", "Coordinator", "Study admin", "Unblinded statistician"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    diary_config = apps.get_app_config("diary")
    diary_config.models_module = True
    create_permissions(diary_config, apps=apps, verbosity=0)
    diary_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="diary", codename="view_reminderlog"
    )
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(codename="view_reminderlog").first()
    if permission:
        for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
            group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [("diary", "0007_roles_groups")]
    operations = [migrations.RunPython(grant, revoke)]
