"""reaper_scripts/index.xml: a ReaPack index that lists every script, with working file names."""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest

REPO = Path(__file__).resolve().parents[2]
ACTIONS = 15
SCRIPTS = REPO / "reaper_scripts"


def package() -> ET.Element:
    root = ET.parse(SCRIPTS / "index.xml").getroot()
    assert root.tag == "index" and root.get("version") == "1"
    packages = root.findall("./category/reapack")
    assert len(packages) == 1 and packages[0].get("type") == "script"
    return packages[0]


def sources() -> list[ET.Element]:
    [version] = package().findall("version")
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
    assert mains == actions and len(actions) == ACTIONS
    for name in actions:
        text = (SCRIPTS / name).read_text()
        assert 'require("dawgen_client").run(' in text and len(text.splitlines()) < 12  # thin


@pytest.mark.skipif(shutil.which("lua5.4") is None, reason="lua5.4 is not installed (`make test-deps` installs it)")
def test_committed_index_is_what_the_tool_writes():
    out = subprocess.run(["lua5.4", str(SCRIPTS / "tools" / "make_index.lua")], capture_output=True, text=True, check=True)
    assert out.stdout == (SCRIPTS / "index.xml").read_text()


def test_the_description_is_rtf_as_reapack_shows_it():
    """ReaPack's package window renders the metadata description as RTF (reapack-index converts the
    @about markdown with pandoc); plain text there shows as nothing."""
    [description] = package().findall("./metadata/description")
    text = description.text or ""
    assert text.startswith("{\\rtf1") and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    assert package().get("desc", "").startswith("dawgen")


def test_the_package_header_provides_every_file_and_the_actions_are_not_packages_of_their_own():
    """reapack-index reads headers: dawgen_client.lua is the package (@version, @provides with
    "[main]" for each action and "[nomain] ." for itself); every other file says @noindex."""
    header = []
    for line in (SCRIPTS / "dawgen_client.lua").read_text().splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    assert "@version 0.1.0" in header and "@provides" in header
    provided = header[header.index("@provides") + 1:]
    provided = provided[:provided.index("")]
    files = {p.split("] ", 1)[-1] for p in provided}
    assert files == (shipped_lua() - {"dawgen_client.lua"}) | {"."}
    assert "[nomain] ." in provided
    assert {p[len("[main] "):] for p in provided if p.startswith("[main] ")} == {p.name for p in SCRIPTS.glob("dawgen - *.lua")}
    for name in shipped_lua() - {"dawgen_client.lua"}:
        lines = (SCRIPTS / name).read_text().splitlines()
        head = lines[:next(i for i, line in enumerate(lines) if not line.startswith("--"))]
        assert "-- @noindex" in head, name
