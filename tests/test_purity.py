"""The pure core imports no Django and reads no clock when imported.

Every module of the innermost layer (tests/layout.py) is imported alone in a fresh interpreter,
since this test process has Django loaded by other tests. A profiling hook records every call
the project's own code makes to a clock (time.time, datetime.now, date.today ...) while the
module is imported: pure code takes `now` as an argument.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.layout import LAYERS, PACKAGES, ROOT, layout_check

PURE = sorted(name for name, place in layout_check().places.items() if place.layer == LAYERS[-1])
# The modules ARCHITECTURE.md names as pure: they may not leave the innermost layer.
NAMED_PURE = {
    "scoring.definitions",
    "scoring.definition_parse",
    "scoring.definition_schema",
    "scoring.engine",
    "scoring.statistics",
    "scoring.wording",
    "diary.exports.columns",
    *(
        f"diary.rules.{path.stem}"
        for path in (ROOT / "diary" / "rules").glob("*.py")
        if path.stem != "__init__"
    ),
}

PROBE = r"""
import datetime
import importlib
import json
import sys
import time

module, packages = sys.argv[1], set(sys.argv[2].split(","))
TIME_CLOCKS = {
    "time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns",
    "process_time", "process_time_ns", "thread_time", "thread_time_ns",
    "localtime", "gmtime", "ctime", "asctime", "strftime",
}
DATE_CLOCKS = {"now", "utcnow", "today"}
reads = []


def clock_name(function):
    owner, name = getattr(function, "__self__", None), getattr(function, "__name__", "")
    if owner is time and name in TIME_CLOCKS:
        return f"time.{name}"
    if isinstance(owner, type) and issubclass(owner, datetime.date) and name in DATE_CLOCKS:
        return f"{owner.__name__}.{name}"
    return None


def watch(frame, event, arg):
    if event == "c_call" and (name := clock_name(arg)):
        caller = frame.f_globals.get("__name__", "")
        if caller.partition(".")[0] in packages:
            reads.append(f"{name}() in {caller}, line {frame.f_lineno}")


sys.setprofile(watch)
importlib.import_module(module)
sys.setprofile(None)
django = sorted(name for name in sys.modules if name == "django" or name.startswith("django."))
print(json.dumps({"django": django[:5], "clock": reads}))
"""


def import_alone(
    module: str, *, packages: Iterable[str] = PACKAGES, path: Path = ROOT
) -> dict[str, list[str]]:
    """What importing `module` in a fresh interpreter loads of Django and reads of the clock."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module, ",".join(packages)],
        cwd=path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_django_and_reads_no_clock(module: str) -> None:
    assert import_alone(module) == {"django": [], "clock": []}


def test_the_modules_named_pure_are_in_the_innermost_layer() -> None:
    assert set(PURE) >= NAMED_PURE, sorted(NAMED_PURE - set(PURE))


def test_the_probe_sees_django_and_a_clock_read_at_import(tmp_path: Path) -> None:
    """The check can fail: a module that does both is caught, and a clock read by a library
    the module imports is not charged to it."""
    package = tmp_path / "impure"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (tmp_path / "library.py").write_text("import time\n\nLOADED = time.time()\n")
    (package / "clock.py").write_text(
        "import datetime\nimport time\n\nimport django.utils.timezone\nimport library\n"
        "STARTED = datetime.datetime.now(datetime.UTC)\nTICK = time.monotonic()\n"
    )
    found = import_alone("impure.clock", packages=("impure",), path=tmp_path)
    assert found["django"]
    assert found["clock"] == [
        "datetime.now() in impure.clock, line 6",
        "time.monotonic() in impure.clock, line 7",
    ]


# Runs in a fresh interpreter: the scoring core computes a score, not only imports, without Django.
SCORE_SCRIPT = """
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
        [sys.executable, "-c", SCORE_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Pain codes 1,2,3,4,0,1,2,3,4,0,1: sum 21 of 44 -> 2100/44 = 525/11 = 47.7
    assert result.stdout.splitlines() == ["pain 525/11 47.7", "[]"]
