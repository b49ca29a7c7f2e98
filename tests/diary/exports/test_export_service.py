"""Exports: what each role may take, and what the files contain."""

import hashlib
import io
import json
import zipfile

import pandas as pd
import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied

from diary.exports.columns import long_columns
from diary.models import AuditAction, AuditEvent, Participant
from diary.services.exports import ExportRequest, export_start
from tests.conftest import make_participant
from tests.diary.exports.conftest import ehp30_answers, submit_period

pytestmark = pytest.mark.django_db


def download(user, **request) -> tuple[bytes, object]:
    export = export_start(user=user, request=ExportRequest(**request))
    return b"".join(export.chunks), export


def read_csv(content: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(content), dtype={"study_id": str, "site": str})


def test_blinded_long_export_has_one_row_per_item_answer_and_no_allocation(submitted):
    content, export = download(submitted.statistician, study=submitted.study, kinds=("long",))
    frame = read_csv(content)
    assert list(frame.columns) == [v.name for v in long_columns(blinded=True)]
    assert len(frame) == 2 * (30 + 1) == export.files[0].rows
    for forbidden in (b"Anakinra", b"Placebo", b"sequence", b"treatment", b",AP,", b",PA,"):
        assert forbidden not in content
    a = frame[frame.study_id == "S01-001"]
    assert a.loc[a.item == "ehp30_q01", "code"].item() == 2
    assert a.loc[a.item == "ehp30_q01", "label"].item() == "Sometimes"
    # Not answered is an empty cell, never 0.
    assert pd.isna(a.loc[a.item == "ehp30_q03", "code"].item())
    assert pd.isna(
        frame.loc[(frame.study_id == "S02-001") & (frame.item == "vas_dysmenorrhea"), "code"].item()
    )
    assert a.loc[a.item == "vas_dysmenorrhea", "code"].item() == 63
    assert frame.submitted_at.str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    assert pd.api.types.is_integer_dtype(frame.period)


def test_unblinded_long_export_names_the_treatment_of_each_period(submitted):
    content, _ = download(
        submitted.statistician, study=submitted.study, kinds=("long",), blinded=False
    )
    frame = read_csv(content)
    assert {"sequence", "block", "treatment"} <= set(frame.columns)
    rows = frame.drop_duplicates("study_id").set_index("study_id")
    assert rows.loc["S01-001", ["sequence", "block", "treatment"]].tolist() == ["AP", 1, "A"]
    assert rows.loc["S02-001", ["sequence", "block", "treatment"]].tolist() == ["PA", 1, "P"]


def test_coordinator_exports_only_her_site(submitted):
    content, _ = download(submitted.coordinator1, study=submitted.study, kinds=("long",))
    assert set(read_csv(content).study_id) == {"S01-001"}


@pytest.mark.parametrize(
    ("who", "request_fields", "message"),
    [
        ("coordinator1", {"blinded": False}, "need an unblinded role"),
        ("monitor", {"blinded": False}, "need an unblinded role"),
        ("coordinator1", {"kinds": ("treatment_means",)}, "only as an unblinded export"),
        ("statistician", {"kinds": ("treatment_means",)}, "only as an unblinded export"),
        ("coordinator1", {"site_codes": ("S02",)}, "only the sites you are assigned to"),
        ("outsider", {}, "no role in this study"),
    ],
)
def test_exports_beyond_a_role_are_refused(submitted, who, request_fields, message):
    fields = {"study": submitted.study, "kinds": ("long",), **request_fields}
    with pytest.raises(PermissionDenied, match=message):
        export_start(user=getattr(submitted, who), request=ExportRequest(**fields))
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORTED).exists()


def revoke(group_name: str, codename: str) -> None:
    Group.objects.get(name=group_name).permissions.remove(
        Permission.objects.get(content_type__app_label="diary", codename=codename)
    )


def test_a_role_whose_group_lacks_the_export_permission_exports_nothing(submitted):
    revoke("Monitor", "export_data")
    monitor = type(submitted.monitor).objects.get(pk=submitted.monitor.pk)
    with pytest.raises(PermissionDenied, match="no role in this study"):
        export_start(user=monitor, request=ExportRequest(study=submitted.study, kinds=("long",)))
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORTED).exists()


def test_unblinded_exports_need_the_unblinded_export_permission(submitted):
    """Being unblinded is not enough: the statistician's group must hold the export too."""
    revoke("Unblinded statistician", "export_unblinded")
    user = type(submitted.statistician).objects.get(pk=submitted.statistician.pk)
    with pytest.raises(PermissionDenied, match="need an unblinded role"):
        export_start(
            user=user,
            request=ExportRequest(study=submitted.study, kinds=("long",), blinded=False),
        )
    content, _ = download(user, study=submitted.study, kinds=("long",))
    assert b"Anakinra" not in content


def test_the_export_permission_without_a_membership_exports_nothing(submitted):
    submitted.outsider.user_permissions.add(
        *Permission.objects.filter(codename__in=["export_data", "export_unblinded"])
    )
    outsider = type(submitted.outsider).objects.get(pk=submitted.outsider.pk)
    assert outsider.has_perm("diary.export_data")
    with pytest.raises(PermissionDenied, match="no role in this study"):
        export_start(user=outsider, request=ExportRequest(study=submitted.study, kinds=("long",)))


def test_participants_cannot_export(submitted):
    with pytest.raises(PermissionDenied):
        export_start(
            user=submitted.participant_a.user,
            request=ExportRequest(study=submitted.study, kinds=("long",)),
        )


def test_dictionary_describes_each_variable_with_codes(submitted):
    content, _ = download(submitted.coordinator1, study=submitted.study, kinds=("dictionary",))
    frame = pd.read_csv(io.BytesIO(content), keep_default_na=False).set_index("variable")
    assert frame.loc["ehp30_q01", "codes"].startswith("0=Never; 1=Rarely")
    assert frame.loc["ehp30_q01", "instrument"] == "ehp30"
    assert frame.loc["pain", "type"] == "decimal"
    assert frame.loc["vas_dysmenorrhea", "unit"] == "mm"
    assert "treatment" not in frame.index and "sequence" not in frame.index
    unblinded, _ = download(
        submitted.statistician, study=submitted.study, kinds=("dictionary",), blinded=False
    )
    assert "treatment" in pd.read_csv(io.BytesIO(unblinded)).variable.tolist()


def test_bundle_has_a_manifest_whose_hashes_match_the_files(submitted):
    content, _ = download(
        submitted.statistician,
        study=submitted.study,
        kinds=("long", "dictionary"),
        periods=(1,),
    )
    bundle = zipfile.ZipFile(io.BytesIO(content))
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["study"] == "TEST-1"
    assert manifest["blinded"] is True
    assert manifest["generated_by"] == "statistician"
    assert manifest["filters"]["periods"] == [1]
    assert {i["key"] for i in manifest["instruments"]} == {"ehp30", "vas_dysmenorrhea"}
    assert manifest["scoring_algorithm_version"]
    for entry in manifest["files"]:
        data = bundle.read(entry["name"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert data.count(b"\n") - 1 == entry["rows"]
    event = AuditEvent.objects.get(action=AuditAction.EXPORTED)
    assert event.actor == submitted.statistician
    assert event.details["complete"] is True
    assert event.details["files"] == manifest["files"]
    assert event.details["filters"]["periods"] == [1]


def test_an_interrupted_download_is_audited_as_incomplete(submitted):
    export = export_start(
        user=submitted.statistician,
        request=ExportRequest(study=submitted.study, kinds=("long",)),
    )
    next(export.chunks)
    export.chunks.close()
    event = AuditEvent.objects.get(action=AuditAction.EXPORTED)
    assert event.details["complete"] is False


def test_text_that_would_start_a_spreadsheet_formula_is_neutralised(submitted):
    # A study whose pattern lets any study ID through: the export must still neutralise it.
    submitted.study.subject_id_pattern = ".+"
    submitted.study.save(update_fields=["subject_id_pattern"])
    sly = make_participant(submitted.study, submitted.site1, "=HYPERLINK(1)")
    submit_period(sly, number=1, answers=ehp30_answers(0), vas=5, days_ago=1)
    content, _ = download(submitted.statistician, study=submitted.study, kinds=("long",))
    frame = read_csv(content)
    assert "'=HYPERLINK(1)" in set(frame.study_id)
    assert not frame.study_id.str.match(r"^[=+\-@]").any()
    assert Participant.objects.filter(subject_id="=HYPERLINK(1)").exists()


def test_superseded_responses_are_not_exported_twice(submitted):
    from django.utils import timezone

    from diary.models import Response

    original = Response.objects.get(
        assessment__participant=submitted.participant_a, instrument_key="vas_dysmenorrhea"
    )
    Response.objects.create(
        assessment=original.assessment,
        instrument_key=original.instrument_key,
        instrument_version=original.instrument_version,
        instrument_hash=original.instrument_hash,
        answers={"vas_dysmenorrhea": 70},
        submitted_at=timezone.now(),
        submitted_by=submitted.coordinator1,
        source="site_correction",
        reason="Participant reported a typo",
        supersedes=original,
    )
    content, _ = download(submitted.statistician, study=submitted.study, kinds=("long",))
    frame = read_csv(content)
    vas = frame[(frame.study_id == "S01-001") & (frame.item == "vas_dysmenorrhea")]
    assert vas.code.tolist() == [70]
