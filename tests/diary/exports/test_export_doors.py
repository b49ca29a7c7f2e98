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


def test_command_writes_sdtm_as_xpt_with_define_in_one_zip(submitted, tmp_path):
    out = StringIO()
    call_command(
        "export", "--study", "TEST-1", "--kind", "sdtm", "--kind", "define", "--format", "xpt",
        "--user", "monitor", "--out", str(tmp_path), stdout=out,
    )  # fmt: skip
    (bundle_path,) = tmp_path.glob("TEST-1_export_blinded_*.zip")
    names = zipfile.ZipFile(bundle_path).namelist()
    assert names == [f"{d}.xpt" for d in ("dm", "ta", "te", "se", "sv", "qs", "fa")] + [
        "define.xml", "manifest.json"
    ]  # fmt: skip
    assert "qs.xpt: 60 rows, sha256 " in out.getvalue()  # 2 x 30 items, not yet scored
    assert "fa.xpt: 2 rows, sha256 " in out.getvalue()  # the VAS
    event = AuditEvent.objects.get(action=AuditAction.EXPORTED, actor=submitted.monitor)
    assert event.details["format"] == "xpt" and event.details["blinded"] is True


def test_command_writes_one_spss_file_for_one_kind(submitted, tmp_path):
    import pyreadstat

    target = tmp_path / "wide.sav"
    call_command(
        "export", "--study", "TEST-1", "--kind", "wide", "--format", "sav",
        "--user", "coordinator1", "--out", str(target), stdout=StringIO(),
    )  # fmt: skip
    frame, meta = pyreadstat.read_sav(str(target))
    assert set(frame.study_id) == {"S01-001"}
    assert meta.column_names_to_labels["period"] == "Menstrual period number"


def test_command_refuses_a_format_no_asked_kind_has(submitted, tmp_path):
    with pytest.raises(CommandError, match="json format is for these kinds: sdtm"):
        call_command(
            "export", "--study", "TEST-1", "--kind", "wide", "--format", "json",
            "--user", "statistician", "--out", str(tmp_path / "x.json"), stdout=StringIO(),
        )  # fmt: skip
    assert not (tmp_path / "x.json").exists()
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORTED).exists()


def test_admin_page_streams_sdtm_as_dataset_json_for_a_coordinator(client, submitted):
    import json

    client.force_login(submitted.coordinator1)
    page = client.get(reverse("admin:exports"))
    assert b'value="sdtm"' in page.content and b'value="define"' in page.content
    assert b'value="xpt"' in page.content
    response = client.post(
        reverse("admin:exports"),
        {"study": submitted.study.pk, "kinds": ["sdtm", "define"], "format": "json"},
    )
    assert response["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    dm = json.loads(bundle.read("dm.json"))
    assert [row[3] for row in dm["rows"]] == ["S01-001"]  # SUBJID: her site only
    assert b"Anakinra" not in bundle.read("define.xml")


def test_admin_page_gives_one_stata_file(client, submitted):
    client.force_login(submitted.statistician)
    response = client.post(
        reverse("admin:exports"),
        {"study": submitted.study.pk, "kinds": ["analysis"], "unblinded": "on", "format": "dta"},
    )
    assert response["Content-Type"] == "application/x-stata-dta"
    assert response["Content-Disposition"] == (
        'attachment; filename="TEST-1_analysis_unblinded.dta"'
    )
    assert b"".join(response.streaming_content)[:1] == b"<"  # Stata 118: <stata_dta>
