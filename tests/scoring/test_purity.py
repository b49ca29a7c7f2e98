"""The pure core (instrument definitions and scoring engine) never imports Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: the test process itself has Django loaded by other tests.
SCRIPT = """
import sys
from scoring.definitions import answers_validate, instrument_get
from scoring.engine import display_round, scores_compute

ehp30 = instrument_get("ehp30")
answers = answers_validate(ehp30, {f"ehp30_q{n:02d}": n % 5 for n in range(1, 12)})
pain = scores_compute(ehp30, answers)[0]
print(pain.scale, pain.value, display_round(pain.value))
print(sorted(name for name in sys.modules if name == "django" or name.startswith("django.")))
"""


def test_scoring_core_computes_a_score_without_importing_django() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    # Pain codes 1,2,3,4,0,1,2,3,4,0,1: sum 21 of 44 -> 2100/44 = 525/11 = 47.7
    assert result.stdout.splitlines() == ["pain 525/11 47.7", "[]"]
