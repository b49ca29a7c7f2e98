"""Migration diary 0010: Study.ehp30_modules -> Study.instrument_modules, over and back."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.migrating import migrate_as_owner

pytestmark = pytest.mark.django_db(transaction=True)

MIGRATION = ("diary", "0010_study_instrument_modules")


def migrate(targets: list[tuple[str, str]]):
    """Migrate to `targets` (as the owner, as migrate does); the historical apps there."""
    return migrate_as_owner(targets)


def history_of(study_pk: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ehp30_modules, instrument_modules::text FROM diary_studyevent "
            "WHERE pgh_obj_id = %s ORDER BY pgh_id",
            [study_pk],
        )
        return [(old, json.loads(new) if new else None) for old, new in cursor.fetchall()]


@pytest.fixture
def before():
    """The schema just before the migration (its own diary parent), then back to the latest."""
    loader = MigrationExecutor(connection).loader
    parents = [d for d in loader.get_migration(*MIGRATION).dependencies if d[0] == "diary"]
    yield migrate(parents), parents
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_module_settings_are_carried_over_and_back(before):
    old_apps, parents = before
    Study = old_apps.get_model("diary", "Study")
    work = Study.objects.create(code="WORK", name="Work", ehp30_modules=["ehp30_work", "ehp30_sex"])
    core = Study.objects.create(code="CORE", name="Core", vas_question="Pain today?")

    new_apps = migrate([MIGRATION])
    Study = new_apps.get_model("diary", "Study")
    assert Study.objects.get(pk=work.pk).instrument_modules == {
        "ehp30": ["ehp30_work", "ehp30_sex"]
    }
    assert Study.objects.get(pk=core.pk).instrument_modules == {}
    # The row history is append-only: the snapshot taken before keeps what it recorded, and
    # does not claim an instrument_modules it never saw. The carry itself is no settings change.
    assert history_of(work.pk) == [(["ehp30_work", "ehp30_sex"], None)]
    Study.objects.filter(pk=core.pk).update(instrument_modules={"ehp30": ["ehp30_work"]})
    assert history_of(core.pk)[-1] == (None, {"ehp30": ["ehp30_work"]})

    old_apps = migrate(parents)
    Study = old_apps.get_model("diary", "Study")
    assert Study.objects.get(pk=work.pk).ehp30_modules == ["ehp30_work", "ehp30_sex"]
    assert Study.objects.get(pk=core.pk).ehp30_modules == ["ehp30_work"]
    assert history_of(core.pk)[-1] == (None, {"ehp30": ["ehp30_work"]})  # kept, reversed or not

    Study = migrate([MIGRATION]).get_model("diary", "Study")  # and forward again
    assert Study.objects.get(pk=work.pk).instrument_modules == {
        "ehp30": ["ehp30_work", "ehp30_sex"]
    }
