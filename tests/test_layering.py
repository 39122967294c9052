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
