"""Two doors, one code path: `manage.py export` and the admin's export page."""

import io
import zipfile
from io import StringIO

import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from diary.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def test_command_writes_the_file_and_prints_rows_and_hash(submitted, tmp_path):
    out = StringIO()
    target = tmp_path / "wide.csv"
    call_command(
        "export",
        "--study",
        "TEST-1",
        "--kind",
        "long",
        "--user",
        "coordinator1",
        "--out",
        str(target),
        stdout=out,
    )
    frame = pd.read_csv(target)
    assert set(frame.study_id) == {"S01-001"}
    assert f"TEST-1_long_blinded.csv: {len(frame)} rows, sha256 " in out.getvalue()
    assert AuditEvent.objects.filter(
        action=AuditAction.EXPORTED, actor=submitted.coordinator1
    ).exists()


def test_command_bundles_several_kinds_into_a_zip(submitted, tmp_path):
    call_command(
        "export",
        "--study",
        "TEST-1",
        "--kind",
        "long",
        "--kind",
        "analysis",
        "--kind",
        "dictionary",
        "--unblinded",
        "--user",
        "statistician",
        "--out",
        str(tmp_path),
        stdout=StringIO(),
    )
    (bundle_path,) = tmp_path.glob("TEST-1_export_unblinded_*.zip")
    names = zipfile.ZipFile(bundle_path).namelist()
    assert names == [
        "TEST-1_long_unblinded.csv",
        "TEST-1_analysis_unblinded.csv",
        "TEST-1_dictionary_unblinded.csv",
        "manifest.json",
    ]


def test_command_refuses_a_blinded_user_asking_for_unblinded_data(submitted, tmp_path):
    with pytest.raises(CommandError, match="need an unblinded role"):
        call_command(
            "export",
            "--study",
            "TEST-1",
            "--kind",
            "long",
            "--unblinded",
            "--user",
            "coordinator1",
            "--out",
            str(tmp_path / "x.csv"),
            stdout=StringIO(),
        )
    assert not (tmp_path / "x.csv").exists()


def test_command_names_an_unknown_study(submitted, tmp_path):
    with pytest.raises(CommandError, match="No study with code 'NOPE'"):
        call_command(
            "export",
            "--study",
            "NOPE",
            "--kind",
            "long",
            "--user",
            "statistician",
            "--out",
            str(tmp_path / "x.csv"),
        )


def test_admin_page_streams_a_csv_for_a_coordinator(client, submitted):
    client.force_login(submitted.coordinator1)
    page = client.get(reverse("admin:exports"))
    assert page.status_code == 200
    assert b"Treatment means" not in page.content and b"Unblinded" not in page.content
    response = client.post(
        reverse("admin:exports"), {"study": submitted.study.pk, "kinds": ["long"]}
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="TEST-1_long_blinded.csv"'
    frame = pd.read_csv(io.BytesIO(b"".join(response.streaming_content)))
    assert set(frame.study_id) == {"S01-001"}


def test_admin_page_offers_unblinded_exports_only_to_the_statistician(client, submitted):
    client.force_login(submitted.statistician)
    page = client.get(reverse("admin:exports"))
    assert b"Treatment means" in page.content and b"Unblinded" in page.content
    assert b'value="analysis"' in page.content
    response = client.post(
        reverse("admin:exports"),
        {"study": submitted.study.pk, "kinds": ["long", "dictionary"], "unblinded": "on"},
    )
    assert response["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "TEST-1_long_unblinded.csv" in bundle.namelist()


def test_admin_page_refuses_a_coordinator_forging_another_site(client, submitted):
    client.force_login(submitted.coordinator1)
    response = client.post(
        reverse("admin:exports"),
        {"study": submitted.study.pk, "kinds": ["long"], "sites": ["S02"]},
    )
    assert response.status_code == 200  # the form again: S02 is not among her choices
    assert b"S02 is not one of the available choices" in response.content


def test_admin_page_refuses_a_coordinator_forging_an_unblinded_request(client, submitted):
    client.force_login(submitted.coordinator1)
    response = client.post(
        reverse("admin:exports"),
        {"study": submitted.study.pk, "kinds": ["treatment_means"], "unblinded": "on"},
    )
    assert response.status_code == 200
    assert b"not one of the available choices" in response.content
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORTED).exists()


@pytest.mark.parametrize("who", ["anonymous", "participant", "outsider"])
def test_admin_page_is_closed_to_everyone_else(client, submitted, who):
    if who == "participant":
        client.force_login(submitted.participant_a.user)
    elif who == "outsider":
        client.force_login(submitted.outsider)
    response = client.get(reverse("admin:exports"))
    if who == "outsider":
        assert response.status_code == 404
    else:
        assert response.status_code == 302
        assert reverse("admin:login") in response.url
