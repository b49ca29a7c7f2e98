"""The statistics and chart API computes a whole crossover analysis and its charts without
importing Django (tests/test_purity.py imports each pure module alone)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

PURE_MODULES = [
    "scoring.statistics",
    "scoring.statistics.analysis",
    "scoring.statistics.crossover",
    "scoring.statistics.descriptive",
    "scoring.statistics.design",
    "scoring.statistics.mixed",
    "scoring.statistics.multiplicity",
    "scoring.statistics.paired",
    "scoring.statistics.ranks",
    "scoring.charts",
    "scoring.charts.forest",
    "scoring.charts.means",
    "scoring.charts.profile",
]

# In one fresh interpreter: import each module in turn and note whether Django got loaded
# (a module that imports Django loads it whatever was imported before), then compute with the
# whole statistics and chart API and check again.
STATISTICS_SCRIPT = """
import importlib, sys
def django_loaded():
    return any(name == "django" or name.startswith("django.") for name in sys.modules)
for module in sys.argv[1:]:
    importlib.import_module(module)
    print(module, django_loaded())
from scoring.statistics import CrossoverDesign, block_means, crossover_analyse, holm_adjust
from scoring.charts import forest_chart, means_by_period_chart, profile_chart
design = CrossoverDesign("A", "P", "AP", "PA")
rows = [(f"S{i}", "AP" if i % 2 else "PA", p, ("A" if (p == 1) == bool(i % 2) else "P"),
         10 * i + p + (i * p) % 3) for i in range(6) for p in (1, 2)]
analysis = crossover_analyse(rows, design=design)
holm_adjust({"x": analysis.two_sequence.treatment.p_value})
means_by_period_chart([(1, "A", 2, 5, 4, 6)], title="t", y_label="y")
profile_chart(block_means(rows, design=design), design=design, title="t", y_label="y",
              element_id="p")
forest_chart([("x", 1.0, 0.0, 2.0)], title="t", x_label="x", element_id="f")
print("computed", django_loaded())
"""


def test_statistics_and_charts_compute_without_importing_django() -> None:
    result = subprocess.run(
        [sys.executable, "-c", STATISTICS_SCRIPT, *PURE_MODULES],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{m} False" for m in [*PURE_MODULES, "computed"]]
