"""The import graph of ``tracker/`` keeps the layers, and has no cycle.

Data flows one way (DESIGN 3): sources -> signal -> analysis -> sinks, with the use cases
(`tracker.app`) on top and the CLI above them. `LAYERS` writes that order down, lowest
first; a module may import its own package and any package of a lower layer, never one
of a higher layer nor a peer of its own layer (peers are independent of each other: two
sources, two sinks). The graph is read from the source with `ast`, every ``import``
statement counted wherever it is (module level, inside a function, under
``TYPE_CHECKING``): a lazy import is still a dependency. ``importlib`` calls by a
computed name are not seen; the package uses them only inside one package (the CLI's
commands, the recording readers).

Run this file (``python tests/test_layers.py``) to print the graph between packages.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "tracker"

#: The layers, lowest first. Each entry is one layer: the top-level modules and packages
#: of ``tracker`` in it (``tracker`` itself is the package's ``__init__``).
LAYERS: tuple[tuple[str, ...], ...] = (
    # Foundations: no import of anything else in the package. ``paths`` (where the
    # user's data lives) is here because both the profile (analysis) and the history
    # (a sink) store files there.
    ("tracker", "errors", "units", "limits", "numbers", "paths"),
    # The sample block every source produces and the pipeline consumes.
    ("samples",),
    # The recording model and its file formats (native, samples CSV, phone imports).
    ("recording",),
    # Sources of samples: sensors over BLE (and emulated ones, which replay a
    # recording), and the simulator (which produces recordings).
    ("devices", "sim"),
    # Calibration, orientation, alignment, angles.
    ("signal",),
    # The pipeline: sets, reps, metrics, flags, and the result of a session.
    ("analysis",),
    # Sinks of the results: reports (summary, CSV, plots, subtitles) and the history.
    ("report", "history"),
    # The live display and cues; they show event lines (report) and link states
    # (devices), so they sit above both.
    ("live",),
    # Use cases: a command's work from inputs to results (export, live, offline); and
    # the process's stop signals (Ctrl-C, SIGTERM, SIGHUP), which the CLI installs
    # around a use case and which the library never touches.
    ("app", "stop_signals"),
    ("cli",),
    ("__main__",),
)

Graph = Mapping[str, Iterable[str]]


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package in ``package_dir``."""
    root = package_dir.name
    names: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [root, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports.

    ``from a.b import c`` is an edge to ``a.b.c`` when that is a module, else to
    ``a.b`` (a name defined there). Relative imports are resolved.
    """
    modules = module_names(package_dir)
    root = package_dir.name
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join([*base, node.module] if node.module else base)
                else:
                    source = node.module or ""
                targets = [
                    f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source
                    for a in node.names
                ]
            for target in targets:
                if target == root or target.startswith(root + "."):
                    # ``import a.b.c`` of a module that does not exist is left to Python.
                    while target not in modules and "." in target:
                        target = target.rpartition(".")[0]
                    if target != module:
                        graph[module].add(target)
    return graph


def unit_of(module: str) -> str:
    """The entry of `LAYERS` a module belongs to: its top-level module or package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_index(layers: tuple[tuple[str, ...], ...]) -> dict[str, int]:
    return {unit: i for i, layer in enumerate(layers) for unit in layer}


def unplaced(graph: Graph, layers: tuple[tuple[str, ...], ...]) -> list[str]:
    """Top-level modules and packages that no layer names."""
    index = layer_index(layers)
    return sorted({unit_of(m) for m in graph} - set(index))


def layer_violations(graph: Graph, layers: tuple[tuple[str, ...], ...]) -> list[str]:
    """Every import that points up the layers or across to a peer, as a sentence."""
    index = layer_index(layers)
    found = []
    for module in sorted(graph):
        for target in sorted(graph[module]):
            a, b = unit_of(module), unit_of(target)
            if a == b or a not in index or b not in index:
                continue
            if index[b] > index[a]:
                found.append(f"{module} imports {target}: {a} is below {b}")
            elif index[b] == index[a]:
                found.append(f"{module} imports {target}: {a} and {b} are peers")
    return found


def import_cycles(graph: Graph) -> list[list[str]]:
    """The groups of modules that import each other in a circle (strongly connected
    components of more than one module), each sorted, in sorted order (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(cycles)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(PACKAGE_DIR)


def test_every_top_level_module_has_a_layer(graph: dict[str, set[str]]) -> None:
    assert unplaced(graph, LAYERS) == [], "add it to LAYERS, at the height it belongs"


def test_no_import_points_up_the_layers_or_across_to_a_peer(
    graph: dict[str, set[str]],
) -> None:
    assert layer_violations(graph, LAYERS) == []


def test_no_import_cycle_between_modules(graph: dict[str, set[str]]) -> None:
    assert import_cycles(graph) == []


def test_the_analysis_knows_no_user_data_folder_and_writes_no_file(
    graph: dict[str, set[str]],
) -> None:
    # Where the user's data lives and the files kept there are application configuration
    # (`tracker.app.profile`); the analysis takes settings and returns results.
    reached = {
        (module, target)
        for module, targets in graph.items()
        if unit_of(module) == "analysis"
        for target in targets
        if unit_of(target) == "paths" or target == "tracker.recording.fileio"
    }
    assert reached == set()


def test_each_layer_name_appears_once() -> None:
    names = [unit for layer in LAYERS for unit in layer]
    assert len(names) == len(set(names))


def test_an_import_up_the_real_layers_would_be_found(graph: dict[str, set[str]]) -> None:
    # The pipeline reaching up into the live use case, which itself runs the pipeline.
    bad = {module: set(targets) for module, targets in graph.items()}
    bad["tracker.analysis.pipeline"].add("tracker.app.live")
    assert layer_violations(bad, LAYERS) == [
        "tracker.analysis.pipeline imports tracker.app.live: analysis is below app"
    ]
    assert any(
        {"tracker.analysis.pipeline", "tracker.app.live"} <= set(c) for c in import_cycles(bad)
    )


# -- the checks themselves, on graphs made up for them ------------------------------------

TOY_LAYERS = (("base",), ("source_a", "source_b"), ("sink",), ("app",))


def test_an_import_from_a_lower_layer_to_a_higher_one_is_found() -> None:
    toy = {
        "p.sink.csv": {"p.base", "p.source_a.reader"},
        "p.source_a.reader": {"p.app.export"},
        "p.app.export": {"p.sink.csv"},
        "p.base": set(),
        "p.source_b": {"p.base"},
    }
    assert layer_violations(toy, TOY_LAYERS) == [
        "p.source_a.reader imports p.app.export: source_a is below app"
    ]


def test_an_import_between_peers_of_one_layer_is_found() -> None:
    toy = {"p.source_a.x": {"p.source_b.y"}, "p.source_b.y": set()}
    assert layer_violations(toy, TOY_LAYERS) == [
        "p.source_a.x imports p.source_b.y: source_a and source_b are peers"
    ]


def test_a_module_outside_every_layer_is_found() -> None:
    toy = {"p.base": set(), "p.plugins.extra": {"p.base"}}
    assert unplaced(toy, TOY_LAYERS) == ["plugins"]


def test_every_cycle_is_found_also_inside_one_package() -> None:
    toy = {
        "p.sink.a": {"p.sink.b"},
        "p.sink.b": {"p.sink.c", "p.base"},
        "p.sink.c": {"p.sink.a"},
        "p.base": set(),
        "p.app.x": {"p.app.y"},
        "p.app.y": {"p.app.x"},
        "p.app.z": {"p.app.x"},
    }
    assert import_cycles(toy) == [["p.app.x", "p.app.y"], ["p.sink.a", "p.sink.b", "p.sink.c"]]
    del toy["p.sink.c"]
    toy["p.app.y"] = set()
    assert import_cycles(toy) == []


def test_the_graph_reader_sees_every_kind_of_import(tmp_path: Path) -> None:
    pkg = tmp_path / "toy"
    for folder in (pkg, pkg / "sub"):
        folder.mkdir()
        (folder / "__init__.py").write_text("")
    (pkg / "base.py").write_text("VALUE = 1\n")
    (pkg / "sub" / "mod.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import toy.base\n"
        "from . import sibling\n"
        "from ..base import VALUE\n"
        "if TYPE_CHECKING:\n"
        "    from toy.top import Thing\n"
        "def later():\n"
        "    from toy.sub import helper\n"
        "    import numpy, os.path\n"
    )
    (pkg / "sub" / "sibling.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("def helper():\n    pass\n")
    (pkg / "top.py").write_text("from toy.sub.mod import later\nimport toy.sub.missing\n")
    toy = import_graph(pkg)
    assert toy["toy.sub.mod"] == {"toy.base", "toy.sub.sibling", "toy.top", "toy.sub"}
    assert toy["toy.top"] == {"toy.sub.mod", "toy.sub"}
    assert import_cycles(toy) == [["toy.sub.mod", "toy.top"]]
    assert toy["toy.base"] == set()


def package_edges(graph: Graph) -> dict[str, set[str]]:
    """Top-level module or package -> the others it imports."""
    edges: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges.setdefault(unit_of(module), set()).update(
            unit_of(t) for t in targets if unit_of(t) != unit_of(module)
        )
    return edges


if __name__ == "__main__":
    index = layer_index(LAYERS)
    edges = package_edges(import_graph(PACKAGE_DIR))
    for unit in sorted(edges, key=lambda u: (index.get(u, -1), u)):
        below = sorted(edges[unit], key=lambda u: (index.get(u, -1), u))
        print(f"{index.get(unit, '?')!s:>2} {unit:<13} -> {', '.join(below) or '-'}")
