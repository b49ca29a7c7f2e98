"""SDTM datasets (SDTMIG 3.4) of a study: what each domain holds, blinded and unblinded."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from diary.exports.sdtm.domains import DATASETS
from diary.services.exports import ExportRequest, export_start
from scoring.services import scoring_sweep

pytestmark = pytest.mark.django_db


def sdtm(user, study, *, blinded=True, fmt="csv", **request) -> dict[str, bytes]:
    export = export_start(
        user=user,
        request=ExportRequest(study=study, kinds=("sdtm",), blinded=blinded, format=fmt, **request),
    )
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(export.chunks)))
    return {name: bundle.read(name) for name in bundle.namelist()}


def frame(files: dict[str, bytes], name: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(files[f"{name.lower()}.csv"]), dtype=str, keep_default_na=False)


@pytest.fixture
def scored(submitted):
    scoring_sweep()
    return submitted


def test_every_dataset_is_written_with_its_variables_in_order(scored):
    files = sdtm(scored.statistician, scored.study)
    assert sorted(files) == sorted([f"{d.name.lower()}.csv" for d in DATASETS] + ["manifest.json"])
    for d in DATASETS:
        assert list(frame(files, d.name).columns) == [v.name for v in d.variables]
