"""The import graph of config/, diary/ and scoring/ follows the layers (tests/layout.py).

The first tests read the project itself; the rest build small source trees to show that each
rule can fail, so that a silent checker cannot pass them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.layout import (
    ALLOWED_LOOPS,
    LAYERS,
    Layout,
    Place,
    layout_check,
    main,
    report,
)


@pytest.fixture(scope="module")
def project() -> Layout:
    return layout_check()


def listed(problems: list[str]) -> str:
    return "\n".join(problems)


def test_every_module_has_a_layer(project: Layout) -> None:
    assert project.modules, "the walk found no module"
    assert not project.unplaced, listed(project.violations())


def test_the_layer_map_names_only_modules_that_exist(project: Layout) -> None:
    assert not project.stale, listed(project.stale)


def test_imports_point_from_the_outer_layers_to_the_inner_ones(project: Layout) -> None:
    upward = [v for v in project.violations() if " upward, " in v]
    assert not upward, listed(upward)


def test_project_imports_sit_at_the_top_of_their_module(project: Layout) -> None:
    local = [v for v in project.violations() if " inside " in v]
    assert not local, listed(local)


def test_the_only_import_loop_is_the_scoring_service_and_its_task(project: Layout) -> None:
    assert set(project.loops) <= set(ALLOWED_LOOPS), listed(project.violations())


def test_diary_keeps_one_folder_per_role(project: Layout) -> None:
    assert not project.flat_files, listed(project.flat_files)


def test_the_pure_core_is_placed_innermost(project: Layout) -> None:
    """The modules the purity test imports alone are the innermost layer's."""
    pure = {name for name, place in project.places.items() if place.layer == LAYERS[-1]}
    assert {"scoring.engine", "scoring.definitions", "diary.rules.windows"} <= pure


# --- The checker on small trees -----------------------------------------------------------------
APP = {
    "app": Place("pure", "package"),
    "app.views": Place("interface", "pages"),
    "app.services": Place("services", "writes"),
    "app.models": Place("models", "tables"),
    "app.rules.*": Place("pure", "pure rules"),
}


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"app/__init__.py": "", "app/rules/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def check(root: Path, layer_of: dict[str, Place] = APP) -> Layout:
    return layout_check(root, packages=("app",), layer_of=layer_of)


def test_a_clean_tree_has_no_violation(tmp_path: Path, capsys) -> None:
    root = tree(
        tmp_path,
        {
            "app/views.py": "from app import services\nfrom app.models import Thing\n",
            "app/services.py": "from .models import Thing\nfrom app.rules.maths import add\n",
            "app/models.py": "from app.rules import maths\n",
            "app/rules/maths.py": "def add(a, b):\n    return a + b\n",
        },
    )
    layout = check(root)
    assert layout.violations() == []
    assert ("app.services", "app.models") in {(i.source, i.target) for i in layout.imports}
    assert main(root, packages=("app",), layer_of=APP) == 0
    assert "violations: 0" in capsys.readouterr().out


def test_an_upward_import_is_reported_with_its_line(tmp_path: Path, capsys) -> None:
    root = tree(
        tmp_path,
        {
            "app/views.py": "",
            "app/services.py": "",
            "app/models.py": "import os\n\nfrom app.services import save\n",
        },
    )
    assert check(root).violations() == [
        "app.models (models) imports app.services (services) upward, line 3"
    ]
    assert main(root, packages=("app",), layer_of=APP) == 1
    assert "app.models (models) imports app.services" in capsys.readouterr().out


def test_an_import_inside_a_function_or_method_is_reported(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "app/views.py": (
                "def page():\n    from app import services\n\n"
                "class Admin:\n    def list(self):\n        import app.models\n"
            ),
            "app/services.py": "",
            "app/models.py": "",
        },
    )
    assert check(root).violations() == [
        "app.views imports app.services inside page(), line 2",
        "app.views imports app.models inside Admin.list(), line 6",
    ]


def test_an_import_loop_is_reported_even_when_hidden_in_a_function(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "app/views.py": "",
            "app/services.py": "from app import models\n",
            "app/models.py": "def later():\n    from app import services\n",
        },
    )
    layout = check(root)
    assert layout.loops == [frozenset({"app.models", "app.services"})]
    assert "import loop: app.models <-> app.services" in layout.violations()


def test_a_new_module_needs_a_layer_and_a_gone_one_leaves_the_map(tmp_path: Path) -> None:
    root = tree(tmp_path, {"app/views.py": "", "app/services.py": "", "app/helpers.py": ""})
    layout = check(root)
    assert layout.unplaced == ["app.helpers"]
    assert layout.stale == ["app.models"]


def test_a_flat_role_file_in_diary_is_reported(tmp_path: Path) -> None:
    (tmp_path / "diary" / "admin").mkdir(parents=True)
    for name in ("admin_audit.py", "views_entry.py", "selectors_audit.py", "access.py"):
        (tmp_path / "diary" / name).write_text("")
    assert layout_check(tmp_path, packages=(), layer_of={}).flat_files == [
        "diary/admin_audit.py",
        "diary/selectors_audit.py",
        "diary/views_entry.py",
    ]


def test_the_report_lists_each_layer_and_the_allowed_loop(project: Layout) -> None:
    text = report(project)
    for layer in LAYERS:
        assert f"\n{layer}: " in f"\n{text}"
    assert "scoring.services <-> scoring.tasks  (allowed" in text
