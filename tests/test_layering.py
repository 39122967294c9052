"""The house rules that keep the layers apart, checked on the source and on a real import."""
import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "stable_audio_tools", "demucs", "audiocraft")


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_server_never_imports_bridge():
    offenders = [p for p in (REPO / "server").rglob("*.py") if "bridge" in imports(p)]
    assert offenders == []


def test_bridge_never_imports_model_libraries():
    offenders = [(p, imports(p) & set(HEAVY)) for p in (REPO / "bridge").rglob("*.py")
                 if imports(p) & set(HEAVY) and p.name != "doctor.py"]  # doctor reports torch's devices
    assert offenders == []


def test_starting_the_front_door_imports_no_model_library():
    code = ("import sys, bridge.cli, bridge.serve, bridge.osc, server.engine, server.registry; "
            "from server.config import load; from server.registry import Registry; Registry(load(None)); "
            f"bad = [m for m in {HEAVY!r} if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def module_imports(package: str) -> dict[str, set[str]]:
    """module -> the modules of `package` it imports, at module level or inside functions (a lazy
    import is still a dependency), with relative imports resolved."""
    files = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (REPO / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here.split(".")[: len(here.split(".")) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                # `from . import spec` depends on the submodule spec, not on the package's __init__
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in files else module for a in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in files and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of `graph`: each strongly connected group of more than one module."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        order[v] = low[v] = len(order)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in order:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], order[w])
        if low[v] == order[v]:
            group = stack[stack.index(v):]
            del stack[stack.index(v):]
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in order:
            visit(v)
    return found


def test_the_cycle_finder_sees_a_lazy_cycle():
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_server_modules_import_each_other_one_way():
    """No import cycle in server/, lazy imports included: e.g. backends/audio_in.py reads audio and
    uses inputs.py's checks; inputs.py never reaches back into audio_in.py."""
    graph = module_imports("server")
    assert "server.backends.inputs" in graph["server.backends.audio_in"]
    assert cycles(graph) == []
