"""The import graph of the project's own code (config, diary, scoring), checked against its layers.

    .venv/bin/python -m tests.layout

prints every module by layer, every import loop and every violation, and exits 1 if there is a
violation. tests/test_layout.py asserts the same rules one by one. Read with `ast` only: nothing
is imported, so the check runs without Django, a database or settings.

The rules (ARCHITECTURE.md, "Layout"):
- imports point one way, from the outer layers to the inner ones (LAYERS); every module has a
  layer in LAYER_OF, with the reason, so that a new module needs a decision;
- a project import is at the top of its module, never inside a function or method, where it
  would hide a loop or an upward import;
- the only import loop is the scoring service and its Celery task;
- diary/ has no flat `admin_*.py`, `views_*.py`, `selectors_*.py` ...: each role is a folder.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("config", "diary", "scoring")
# Generated schema history, not code anyone layers: left out with the tests and benchmarks.
SKIPPED_FOLDERS = frozenset({"migrations", "__pycache__"})

# Outermost first. A module may import its own layer and any layer after it, never one before.
LAYERS = ("start-up", "interface", "services", "selectors", "models", "pure")
LAYER_MEANING = {
    "start-up": "process wiring: settings, WSGI, Celery app, `make run`; app code never imports it",
    "interface": "what Django, Celery or a shell calls in: views, admin, commands, tasks, URLs",
    "services": "writes, one function per business action",
    "selectors": "reads, never writes; the access policy sits here, beside them",
    "models": "tables and their invariants",
    "pure": "no Django, no clock: rules, definitions, engine, statistics, leaf modules",
}


class Place(NamedTuple):
    layer: str
    reason: str


# Where each module sits, and why. "name.*" covers a package and everything below it; an exact
# name wins over a pattern. A module matching nothing fails the check until it is placed here.
LAYER_OF: dict[str, Place] = {
    # config/
    "config": Place("start-up", "loads the Celery app whenever Django starts"),
    "config.settings": Place("start-up", "the settings, read from the environment"),
    "config.formats": Place("start-up", "date formats the settings name (FORMAT_MODULE_PATH)"),
    "config.formats.*": Place("start-up", "one language's date formats, read by Django"),
    "config.static_storage": Place("start-up", "the storage of collected static files"),
    "config.log_filters": Place("start-up", "logging filters the settings' LOGGING names"),
    "config.test_settings": Place("start-up", "the settings, changed for speed and safety"),
    # Below the interface: the migrate command and the post-migrate guards use them too.
    "config.env": Place("services", "parses the environment for settings, run and migrate"),
    "config.embedded": Place("start-up", "starts the embedded PostgreSQL and Redis"),
    "config.vapid": Place("start-up", "the web push key pair for the settings (.data/ in DEBUG)"),
    "config.database_roles": Place("services", "creates and checks the two database roles"),
    "config.run": Place("start-up", "`make run`: migrates and starts web, worker and beat"),
    "config.startup": Place("start-up", "checks web, worker and beat make before serving"),
    "config.celery": Place("start-up", "the Celery app that web, worker and beat share"),
    "config.wsgi": Place("start-up", "the WSGI entry point gunicorn loads"),
    "config.gunicorn.conf": Place("start-up", "gunicorn's settings file"),
    "config.urls": Place("interface", "the root URLconf"),
    "diary.enforcement": Place("interface", "post-migrate: grants and append-only guards"),
    "diary.lockout": Place("interface", "axes' lockout handler with the per-address throttle"),
    "diary.passwords": Place("interface", "password validator: who may set whose password"),
    "config.apps": Place("interface", "names the admin site for Django"),
    "config.admin_site": Place("interface", "the admin site, its second factor, the 404 rule"),
    # diary/ by folder
    "diary": Place("pure", "package marker (empty); runs before every diary module"),
    "diary.views.*": Place("interface", "participant pages: form -> service -> redirect"),
    "diary.templatetags": Place("interface", "package marker of the template filters"),
    "diary.templatetags.*": Place("interface", "template filters: how an instant reads to staff"),
    "diary.admin.*": Place("interface", "model admins and the custom admin pages"),
    "diary.management.*": Place("interface", "manage.py commands, calling services"),
    "diary.services.*": Place("services", "writes, one module per business area"),
    "diary.selectors.*": Place("selectors", "reads for pages, exports and services"),
    "diary.models.*": Place("models", "the tables"),
    "diary.rules.*": Place("pure", "window arithmetic, local time, allocation lists, reminders"),
    # diary/ top-level modules
    "diary.apps": Place("interface", "Django's entry into the app; connects the receivers"),
    "diary.urls": Place("interface", "the participant URLconf"),
    "diary.tasks": Place("interface", "Celery tasks: thin, each calls one service"),
    "diary.signals": Place("interface", "receivers of Django's login signals, calling audit"),
    "diary.middleware": Place("interface", "per-request: health check, request id, time zone"),
    "diary.sessions": Place("interface", "the session engine and its middleware"),
    "diary.forms": Place("interface", "the participant pages' forms; validation only"),
    "diary.chain_tables": Place("selectors", "the tables the audit chain covers (app registry)"),
    "diary.access": Place("selectors", "the one read-only access policy, beside the selectors"),
    "diary.auth": Place("selectors", "the login backend: finds the user an identifier names"),
    "diary.request_context": Place("pure", "leaf: the request id, middleware to audit writer"),
    # diary/exports/
    "diary.exports": Place("pure", "package marker (docstring only); runs before columns"),
    "diary.exports.columns": Place("pure", "export columns: names, labels and their SQL text"),
    "diary.exports.queries": Place("selectors", "the SELECTs an export runs"),
    "diary.exports.sql": Place(
        "selectors", "SQL fragments shared by exports and summaries, names from the models"
    ),
    "diary.exports.writer": Place("selectors", "streams a SELECT out of PostgreSQL with COPY"),
    "diary.exports.formats": Place(
        "selectors", "Dataset-JSON, XPT, SAV, DTA from a SELECT read by a server-side cursor"
    ),
    "diary.exports.xpt": Place("pure", "SAS XPORT v5 in bounded memory (pyreadstat header)"),
    "diary.exports.define": Place("pure", "define.xml 2.1 from the datasets' metadata (odmlib)"),
    "diary.exports.sdtm": Place("pure", "package marker (docstring only) of the SDTM datasets"),
    "diary.exports.sdtm.domains": Place("pure", "SDTM variables: names, labels and their SQL"),
    "diary.exports.sdtm.queries": Place("selectors", "the SELECTs of the SDTM datasets"),
    "diary.exports.odm": Place("selectors", "streams the ODM 1.3.2 archive read from the models"),
    "diary.exports.odm_subject": Place(
        "selectors", "the ODM archive's SubjectData as text: values, audit records, signatures"
    ),
    # scoring/
    "scoring": Place("pure", "package marker (empty); runs before every scoring module"),
    "scoring.definition_schema": Place("pure", "the instrument definition's dataclasses"),
    "scoring.definition_parse": Place("pure", "TOML definition -> dataclasses, validated"),
    "scoring.wording": Place("pure", "licensed wording laid over a definition"),
    "scoring.definitions": Place("pure", "finds and loads the versioned instrument files"),
    "scoring.sdtm_mapping": Place("pure", "an instrument version's SDTM mapping, checked"),
    "scoring.engine": Place("pure", "scale scores from answers, exact fractions"),
    "scoring.statistics": Place("pure", "crossover analysis on plain numbers (scipy)"),
    "scoring.statistics.*": Place("pure", "each method of the crossover analysis, plain numbers"),
    "scoring.charts": Place("pure", "matplotlib charts rendered to SVG, from plain numbers"),
    "scoring.charts.*": Place("pure", "one chart kind each, with its data table"),
    "scoring.models": Place("models", "Score and InstrumentVersion"),
    "scoring.selectors": Place("selectors", "responses to score, stored instrument versions"),
    "scoring.summaries": Place("selectors", "reads scores with SQL for the per-arm summary"),
    "scoring.services": Place("services", "scores responses, queues scoring, stores wording"),
    "scoring.tasks": Place("interface", "Celery tasks: thin, each calls one scoring service"),
    "scoring.admin": Place("interface", "the stored instrument versions' admin"),
    "scoring.apps": Place("interface", "Django's entry into the app"),
    "scoring.management.*": Place("interface", "manage.py commands, calling services"),
}

# The one loop, and so the one upward import, allowed: a service queues its own task with
# transaction.on_commit, and the task calls the service back (the usual Celery pair; each side
# imports the other module, not names from it).
ALLOWED_LOOPS: tuple[frozenset[str], ...] = (frozenset({"scoring.services", "scoring.tasks"}),)
ALLOWED_UPWARD: frozenset[tuple[str, str]] = frozenset({("scoring.services", "scoring.tasks")})
# (module, function, imported): the one project import that cannot be at the top. Django imports
# apps.py while it fills the app registry, before any model can be imported; ready() runs once
# the registry is complete, which is where Django documents connecting a signals module.
ALLOWED_LOCAL: frozenset[tuple[str, str, str]] = frozenset(
    {("diary.apps", "DiaryConfig.ready", "diary.signals")}
)
# diary/ keeps one folder per role: no flat "<role>_*.py" beside it.
ROLE_FOLDERS = ("admin", "views", "selectors", "services", "models", "rules", "exports")


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    function: str  # the enclosing function's qualified name, "" at the top of the module


@dataclass
class Layout:
    """The graph and what is wrong with it; `violations()` is empty when the rules hold."""

    modules: dict[str, Path]
    places: dict[str, Place]
    imports: list[Import]
    unplaced: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    upward: list[Import] = field(default_factory=list)
    local: list[Import] = field(default_factory=list)
    loops: list[frozenset[str]] = field(default_factory=list)
    flat_files: list[str] = field(default_factory=list)

    @property
    def unexpected_loops(self) -> list[frozenset[str]]:
        return [loop for loop in self.loops if loop not in ALLOWED_LOOPS]

    def violations(self) -> list[str]:
        found = [f"{name}: no layer; place it in LAYER_OF, with a reason" for name in self.unplaced]
        found += [f"LAYER_OF names {entry}, which matches no module" for entry in self.stale]
        found += [
            f"{i.source} ({self.places[i.source].layer}) imports {i.target} "
            f"({self.places[i.target].layer}) upward, line {i.line}"
            for i in self.upward
        ]
        found += [
            f"{i.source} imports {i.target} inside {i.function}(), line {i.line}"
            for i in self.local
        ]
        found += [f"import loop: {' <-> '.join(sorted(loop))}" for loop in self.unexpected_loops]
        found += [f"{path}: a flat role file; move it into its folder" for path in self.flat_files]
        return found


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Every module of the packages by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if SKIPPED_FOLDERS & set(relative.parts):
                continue
            parts = relative.with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def entry_of(name: str, layer_of: Mapping[str, Place]) -> str | None:
    """The LAYER_OF key that places a module: its own name, else the longest "package.*"."""
    if name in layer_of:
        return name
    covering = [
        entry
        for entry in layer_of
        if entry.endswith(".*") and (name == entry[:-2] or name.startswith(entry[:-1]))
    ]
    return max(covering, key=len) if covering else None


def place_of(name: str, layer_of: Mapping[str, Place]) -> Place | None:
    entry = entry_of(name, layer_of)
    return layer_of[entry] if entry is not None else None


def _resolve(name: str, modules: Mapping[str, Path]) -> str | None:
    """The project module an imported name lives in (`diary.models.Study` -> diary.models)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _base_of(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    package = source.split(".") if is_package else source.split(".")[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def imports_of(source: str, path: Path, modules: Mapping[str, Path]) -> Iterator[Import]:
    """The project modules `source` imports, each with its line and enclosing function."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"

    def targets(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
            return
        base = _base_of(node, source, is_package)
        for alias in node.names:
            # `from diary import access` imports the module diary.access, not the package.
            yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base

    def walk(node: ast.AST, scope: list[str], function: str) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for name in targets(child):
                    target = _resolve(name, modules)
                    if target is not None and target != source:
                        yield Import(source, target, child.lineno, function)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [*scope, child.name]
                yield from walk(child, inner, ".".join(inner))
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, [*scope, child.name], function)
            elif isinstance(child, ast.Lambda):
                yield from walk(child, scope, ".".join([*scope, "<lambda>"]))
            else:
                yield from walk(child, scope, function)

    # One edge per (target, function): a name list split over lines is one import.
    seen: set[tuple[str, str]] = set()
    for found in walk(tree, [], ""):
        if (found.target, found.function) not in seen:
            seen.add((found.target, found.function))
            yield found


def import_loops(edges: Iterable[tuple[str, str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
        graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        loops.append(frozenset(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(loops, key=sorted)


def flat_role_files(root: Path) -> list[str]:
    return sorted(
        str(path.relative_to(root))
        for role in ROLE_FOLDERS
        for path in (root / "diary").glob(f"{role}_*.py")
    )


def layout_check(
    root: Path = ROOT,
    *,
    packages: Iterable[str] = PACKAGES,
    layer_of: Mapping[str, Place] = LAYER_OF,
) -> Layout:
    modules = module_files(root, packages)
    places = {name: place for name in modules if (place := place_of(name, layer_of))}
    imports = [i for name, path in modules.items() for i in imports_of(name, path, modules)]
    rank = {layer: n for n, layer in enumerate(LAYERS)}
    layout = Layout(modules=modules, places=places, imports=imports)
    layout.unplaced = sorted(set(modules) - set(places))
    layout.stale = sorted(
        entry
        for entry in layer_of
        if not any(entry_of(name, layer_of) == entry for name in modules)
    )
    layout.upward = [
        i
        for i in imports
        if i.source in places
        and i.target in places
        and rank[places[i.target].layer] < rank[places[i.source].layer]
        and (i.source, i.target) not in ALLOWED_UPWARD
    ]
    layout.local = [
        i for i in imports if i.function and (i.source, i.function, i.target) not in ALLOWED_LOCAL
    ]
    layout.loops = import_loops((i.source, i.target) for i in imports)
    layout.flat_files = flat_role_files(root)
    return layout


def report(layout: Layout, layer_of: Mapping[str, Place] = LAYER_OF) -> str:
    """The layers with their modules (a folder's modules under its pattern), the loops and the
    violations, as `python -m tests.layout` prints them."""
    lines = []
    for layer in LAYERS:
        lines.append(f"{layer}: {LAYER_MEANING[layer]}")
        for entry, place in sorted(layer_of.items()):
            if place.layer != layer:
                continue
            lines.append(f"    {entry:<30} {place.reason}")
            if entry.endswith(".*"):
                covered = [n for n in sorted(layout.modules) if entry_of(n, layer_of) == entry]
                lines += textwrap.wrap(
                    ", ".join(covered), width=100, initial_indent=" " * 8, subsequent_indent=" " * 8
                )
    lines.append("import loops:")
    lines += [
        f"    {' <-> '.join(sorted(loop))}"
        + ("  (allowed: the Celery service/task pair)" if loop in ALLOWED_LOOPS else "")
        for loop in layout.loops
    ] or ["    none"]
    violations = layout.violations()
    lines.append(f"violations: {len(violations)}")
    lines += [f"    {violation}" for violation in violations]
    return "\n".join(lines)


def main(
    root: Path = ROOT,
    *,
    packages: Iterable[str] = PACKAGES,
    layer_of: Mapping[str, Place] = LAYER_OF,
) -> int:
    layout = layout_check(root, packages=packages, layer_of=layer_of)
    print(report(layout, layer_of))
    return 1 if layout.violations() else 0


if __name__ == "__main__":
    sys.exit(main())
