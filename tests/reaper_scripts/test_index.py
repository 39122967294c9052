"""reaper_scripts/index.xml: a ReaPack index that lists every script, with working file names."""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "reaper_scripts"


def sources() -> list[ET.Element]:
    root = ET.parse(SCRIPTS / "index.xml").getroot()
    assert root.tag == "index" and root.get("version") == "1"
    packages = root.findall("./category/reapack")
    assert len(packages) == 1 and packages[0].get("type") == "script"
    [version] = packages[0].findall("version")
    return version.findall("source")


def shipped_lua() -> set[str]:
    """Every Lua file a user needs: not the specs, not the index tool."""
    return {p.relative_to(SCRIPTS).as_posix() for p in SCRIPTS.rglob("*.lua")
            if p.relative_to(SCRIPTS).parts[0] not in ("spec", "tools")}


def test_index_lists_every_script_once_with_its_link():
    files = [s.get("file") for s in sources()]
    assert sorted(files) == sorted(shipped_lua())
    for s in sources():
        assert s.text and s.text.endswith("/reaper_scripts/" + quote(s.get("file")))
        assert (SCRIPTS / s.get("file")).is_file()


def test_actions_are_registered_and_the_client_is_not():
    mains = {s.get("file") for s in sources() if s.get("main") == "main"}
    actions = {p.name for p in SCRIPTS.glob("dawgen - *.lua")}
    assert mains == actions and len(actions) == 7
    for name in actions:
        text = (SCRIPTS / name).read_text()
        assert 'require("dawgen_client").run(' in text and len(text.splitlines()) < 12  # thin


@pytest.mark.skipif(shutil.which("lua5.4") is None, reason="lua5.4 is not installed (`make test-deps` installs it)")
def test_committed_index_is_what_the_tool_writes():
    out = subprocess.run(["lua5.4", str(SCRIPTS / "tools" / "make_index.lua")], capture_output=True, text=True, check=True)
    assert out.stdout == (SCRIPTS / "index.xml").read_text()
