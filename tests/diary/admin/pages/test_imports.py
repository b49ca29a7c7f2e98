"""The admin's import page: check, read the report or preview, import exactly that file."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from diary.models import ImportBatch, MenstrualPeriod, Response, ResponseSource
from tests.diary.services.test_imports import row, wide_csv

pytestmark = pytest.mark.django_db


def post(client, user, study, content: bytes, action: str, checked: str = "", name="paper.csv"):
    client.force_login(user)
    return client.post(
        reverse("admin:study_import"),
        {
            "study": study.pk,
            "file": SimpleUploadedFile(name, content, content_type="text/csv"),
            "checked_sha256": checked,
            "action": action,
        },
    )


def test_a_coordinator_checks_then_imports_the_same_file(client, world):
    content = wide_csv(row())
    sha = hashlib.sha256(content).hexdigest()
    checked = post(client, world.coordinator1, world.study, content, "check")
    page = checked.content.decode()
    assert checked.status_code == 200
    assert "is valid. It would store" in page and "S01-001 period 1: new period" in page
    assert f'value="{sha}"' in page and 'value="import"' in page
    assert not MenstrualPeriod.objects.exists()
    imported = post(client, world.coordinator1, world.study, content, "import", checked=sha)
    assert "Imported paper.csv" in imported.content.decode()
    assert set(Response.objects.values_list("source", flat=True)) == {ResponseSource.IMPORT}
    assert ImportBatch.objects.get().imported_by == world.coordinator1
    again = post(client, world.coordinator1, world.study, content, "check")
    assert "nothing changed" in again.content.decode()


def test_problems_are_listed_by_line_and_nothing_is_stored(client, world):
    response = post(client, world.coordinator1, world.study, wide_csv(row(ehp30_q02="8")), "check")
    page = response.content.decode()
    assert "1 problem in paper.csv: nothing was imported" in page
    assert "line 2: S01-001 period 1: ehp30 ehp30_q02: int 8 is not a valid answer" in page
    assert 'value="import"' not in page
    assert not MenstrualPeriod.objects.exists()


def test_importing_a_file_other_than_the_one_checked_is_refused(client, world):
    checked = hashlib.sha256(wide_csv(row())).hexdigest()
    response = post(client, world.coordinator1, world.study, wide_csv(row(code=3)), "import",
                    checked=checked)  # fmt: skip
    assert "This is not the file you checked" in response.content.decode()
    assert not MenstrualPeriod.objects.exists()


def test_another_sites_participant_is_not_imported(client, world):
    response = post(client, world.coordinator1, world.study, wide_csv(row(subject="S02-001")),
                    "check")  # fmt: skip
    assert "participant S02-001 is not enrolled in this study at a site where you may" in (
        response.content.decode()
    )


@pytest.mark.parametrize("who", ["monitor", "statistician", "admin", "outsider"])
def test_roles_that_may_not_enter_data_find_no_import_page(client, world, who):
    client.force_login(getattr(world, who))
    assert client.get(reverse("admin:study_import")).status_code == 404
    response = post(client, getattr(world, who), world.study, wide_csv(row()), "import")
    assert response.status_code == 404
    assert not MenstrualPeriod.objects.exists()
