"""`manage.py score_answers`: external data scored with the same engine, JSON lines in and out,
bad lines reported by number with the reason and a non-zero exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.scoring.submitting import EHP30, ehp30_answers

BASE_DIR = Path(__file__).resolve().parents[2]


def run(path: Path | str, *args: str, stdin: str = "") -> tuple[list, str]:
    out, err = StringIO(), StringIO()
    call_command("score_answers", str(path), *args, stdout=out, stderr=err, stdin=StringIO(stdin))
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_each_line_gets_exact_scores_null_when_not_scorable(tmp_path):
    path = tmp_path / "paper.jsonl"
    first = ehp30_answers(pain=[2, 2, 2, 2, 2, 2, 2, 1, 0, 0, 2], self_image=[None, None, 3])
    second = dict.fromkeys(EHP30.item_keys(), 0)
    path.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    lines, err = run(path, "--instrument", "ehp30")
    assert err == ""
    assert len(lines) == 2
    assert lines[0]["pain"] == {
        "score": 1700 / 44,
        "items_answered": 11,
        "items_in_scale": 11,
        "applicable": True,
    }
    assert lines[0]["self_image"]["score"] is None
    assert lines[0]["self_image"]["items_answered"] == 1
    assert lines[1]["self_image"]["score"] == 0.0  # all answered "never": a real 0
    assert list(lines[0]) == [scale.key for scale in EHP30.scales_for(())]


def test_the_rule_and_modules_are_options():
    answers = ehp30_answers(pain=[2] * 10 + [None])
    answers |= {"ehp30_work_applies": 0}
    lines, _ = run(
        "-",
        "--instrument",
        "ehp30",
        "--rule",
        "complete",
        "--module",
        "ehp30_work",
        stdin=json.dumps(answers) + "\n",
    )
    assert lines[0]["pain"]["score"] is None
    assert lines[0]["ehp30_work"] == {
        "score": None,
        "items_answered": 0,
        "items_in_scale": 5,
        "applicable": False,
    }


def test_bad_lines_are_reported_by_number_and_the_command_fails(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"vas_dysmenorrhea": 40}),
                "{not json",
                json.dumps({"vas_dysmenorrhea": 101}),
                json.dumps([1, 2]),
                json.dumps({"vas_dysmenorrhea": 55.0}),
                "",
                json.dumps({"vas_dysmenorrhea": None}),
            ]
        )
        + "\n"
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="4 of 7 lines could not be scored") as failed:
        call_command(
            "score_answers", str(path), "--instrument", "vas_dysmenorrhea", stdout=out, stderr=err
        )
    assert failed.value.returncode == 1
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    # One output line per input line: good lines scored, bad and blank ones null.
    assert [line and line["vas_dysmenorrhea"]["score"] for line in lines] == [
        40.0,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    assert lines[6]["vas_dysmenorrhea"]["items_answered"] == 0
    reported = err.getvalue().splitlines()
    assert [line.split(":")[0] for line in reported] == ["line 2", "line 3", "line 4", "line 5"]
    assert reported[0].startswith("line 2: invalid JSON")
    assert "int 101 is not a valid answer" in reported[1]
    assert "expected a JSON object" in reported[2]
    assert "float 55.0 is not a valid answer" in reported[3]


def test_unknown_instrument_or_module_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no instrument sf36"):
        run("-", "--instrument", "sf36")
    with pytest.raises(CommandError, match="--module: unknown"):
        run("-", "--instrument", "ehp30", "--module", "ehp30_garden")


def test_from_the_command_line_bad_lines_exit_non_zero(tmp_path):
    path = tmp_path / "one-bad.jsonl"
    path.write_text('{"vas_dysmenorrhea": 12}\n{"vas_dysmenorrhea": "12"}\n')
    result = subprocess.run(
        [sys.executable, "manage.py", "score_answers", "--instrument", "vas_dysmenorrhea", path],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"},
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == json.dumps(
        {
            "vas_dysmenorrhea": {
                "score": 12.0,
                "items_answered": 1,
                "items_in_scale": 1,
                "applicable": True,
            }
        }
    )
    assert result.stdout.splitlines()[1] == "null"
    assert "line 2: vas_dysmenorrhea: str '12' is not a valid answer" in result.stderr
