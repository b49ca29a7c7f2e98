"""Staff roles as groups with explicit permissions (a frozen copy of diary.roles at this point).

Permissions are normally created after migrate; they are created here first so the groups can
reference them on a fresh database.
"""

from django.db import migrations

BLINDED_VIEW = [
    "view_study",
    "view_site",
    "view_participant",
    "view_menstrualperiod",
    "view_assessment",
    "view_response",
    "view_auditevent",
]
SITE_ACTIONS = [
    "enrol_participant",
    "invite_participant",
    "withdraw_participant",
    "excuse_assessment",
]
UNBLINDED = [
    "view_unblinded",
    "view_treatment",
    "view_sequence",
    "view_sequenceblock",
    "view_allocation",
    "view_allocationlist",
    "view_allocationslot",
    "add_allocationlist",
    "randomize_participant",
]
GROUPS = {
    "Monitor": BLINDED_VIEW,
    "Coordinator": [*BLINDED_VIEW, *SITE_ACTIONS, "view_participantcontact"],
    "Study admin": [*BLINDED_VIEW, *SITE_ACTIONS],
    "Unblinded statistician": [*BLINDED_VIEW, *UNBLINDED],
}


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    diary_config = apps.get_app_config("diary")
    diary_config.models_module = True
    create_permissions(diary_config, apps=apps, verbosity=0)
    diary_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = list(
            Permission.objects.filter(content_type__app_label="diary", codename__in=codenames)
        )
        missing = set(codenames) - {p.codename for p in permissions}
        if missing:
            raise RuntimeError(f"permissions not found: {sorted(missing)}")
        group.permissions.set(permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("diary", "0006_randomization"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
