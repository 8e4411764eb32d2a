"""The house by role: wings in order, no import circles, no upward imports, small modules.

Every import of every module is read from its syntax tree, those inside functions (and under
``if TYPE_CHECKING``) included, so a lazy import cannot hide a circle or a step upward.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "scaling_utils"

FLOORS = ("ground", "laws", "simulations", "fitting", "analysis", "experiment", "report", "cli")
"""Lowest first: a module may import from its own floor and those below it, never above."""

GROUND = {"scaling_utils", "scaling_utils._paths", "scaling_utils._validation", "scaling_utils.compute"}
MAX_TOP_ENTRIES = 10
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def floor(module: str) -> int:
    """The floor of a module: its wing's place in :data:`FLOORS`."""
    if module in GROUND:
        return 0
    if module == "scaling_utils.__main__":
        return len(FLOORS)  # the entry point sits on the roof
    wing = module.split(".")[1]
    return FLOORS.index(wing)


def imports(module: str) -> set[str]:
    """The scaling_utils modules ``module`` imports, anywhere in its code."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from pkg import sub` imports the module pkg.sub when there is one.
            names = [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES and "." in name:
                name = name.rpartition(".")[0]
            if name in MODULES and name != module:
                found.add(name)
    return found


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_has_a_floor():
    unknown = []
    for m in MODULES:
        try:
            floor(m)
        except ValueError:
            unknown.append(m)
    assert unknown == [], f"modules outside every wing (add them to a wing or to GROUND): {unknown}"


def test_top_level_holds_at_most_ten_entries():
    entries = [p.name for p in PACKAGE.iterdir() if p.name not in ("__init__.py", "__main__.py", "__pycache__")]
    entries = [e for e in entries if e.endswith(".py") or (PACKAGE / e / "__init__.py").is_file()]
    assert len(entries) <= MAX_TOP_ENTRIES, sorted(entries)


def test_nothing_imports_upward():
    upward = sorted(
        f"{m} ({FLOORS[min(floor(m), len(FLOORS) - 1)]}) imports {d} ({FLOORS[floor(d)]})"
        for m, deps in GRAPH.items()
        for d in deps
        if floor(d) > floor(m)
    )
    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), and self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    assert _cycles(GRAPH) == []


def test_the_checks_see_circles_and_lazy_imports(tmp_path):
    """The walker counts an import inside a function, and the cycle finder finds a circle."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    # report.figures.kaplan imports the experiment's schedules inside a function only.
    assert "scaling_utils.experiment.schedules" in GRAPH["scaling_utils.report.figures.kaplan"]


@pytest.mark.parametrize("module", sorted(MODULES), ids=str)
def test_module_is_at_most_450_lines(module):
    n = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{module}: {n} lines"


@pytest.mark.parametrize(
    "package", sorted(m for m, p in MODULES.items() if p.name == "__init__.py" and m != "scaling_utils"), ids=str
)
def test_package_docstring_says_what_lives_there_and_what_it_may_import(package):
    doc = ast.get_docstring(ast.parse(MODULES[package].read_text(encoding="utf-8")))
    assert doc, f"{package} has no docstring"
    head = "\n".join(doc.splitlines()[:4])
    assert re.search(r"\b(May import|no imports)\b", head), f"{package}: the docstring's opening omits its imports"


OLD_MODULES = (
    "allocation", "booktools", "data_constrained", "datasize", "isoflop_v2", "measured", "plotting",
    "plotting_beyond", "plotting_measured", "plotting_reconcile", "porian", "prompts", "provenance", "pruning",
    "reconcile", "registry", "repeated", "results", "sweep_checks", "synthetic", "typeset", "webfont",
)  # fmt: skip
"""The top-level modules before the house was sorted by role: none is left, and nothing names them."""


def test_no_module_is_left_at_an_old_path():
    left = [m for m in OLD_MODULES if (PACKAGE / f"{m}.py").exists() or (PACKAGE / m).is_dir()]
    assert left == []


TEXT_SUFFIXES = (".py", ".md", ".yml", ".yaml", ".toml", ".cfg", ".css", ".txt", "")


def test_nothing_names_an_old_module_path():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    old = re.compile(r"scaling_utils[./](" + "|".join(OLD_MODULES) + r")\b")
    hits = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        if name.startswith("data/experiments/") or name == "tests/test_layout.py":
            continue  # the run records name the code that made them, as it was then
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if old.search(line):
                hits.append(f"{name}:{i}: {line.strip()[:100]}")
    assert hits == []
