"""The documentation's links and tables are checked like code: a moved heading or a renamed file
breaks a test, not a reader's click.

- Every relative link (and image) in README.md, docs/*.md and the device READMEs points to a file
  that exists inside the repository, and every `#anchor` is a heading of its target, slugged the way
  GitHub does it (lower case; punctuation dropped; spaces become `-`; repeats get `-1`, `-2`, ...).
- External links are checked for syntax only (no network): https, a host name, nothing else.
- docs/CONFIG.md lists exactly the keys server/config.py and the backends declare, with their defaults.
"""
from __future__ import annotations

import dataclasses
import re
import sys
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"),
                REPO / "max_for_live" / "README.md", REPO / "reaper_scripts" / "README.md"])

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
# [text](target "title") and ![alt](target); text may hold one level of brackets ([`x`] etc.)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.M)
AUTOLINK = re.compile(r"<((?:https?|ftp)://[^>\s]+)>")
BARE_URL = re.compile(r"(?<![(<\w])((?:https?|ftp)://[^\s)>\]]+)")
HTML_ATTR = re.compile(r"<[a-zA-Z][^>]*?\s(?:href|src)=\"([^\"]+)\"")
HTML_ANCHOR = re.compile(r"<[a-zA-Z][^>]*?\s(?:id|name)=\"([^\"]+)\"")
ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
HOST = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?$")


# -- reading Markdown -----------------------------------------------------------------------------
def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    lines, fence = [], ""
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
            continue
        if match:
            fence = match.group(1)
            continue
        lines.append((number, line))
    return lines


def without_code_spans(line: str) -> str:
    return CODE_SPAN.sub(" ", line)


def links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every link and image outside code."""
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        line = without_code_spans(line)
        for pattern in (INLINE_LINK, AUTOLINK, HTML_ATTR):
            found += [(number, m.group(1).strip("<>")) for m in pattern.finditer(line)]
        found += [(number, m.group(1)) for m in REFERENCE_DEF.finditer(line)]
        bare = INLINE_LINK.sub(" ", AUTOLINK.sub(" ", HTML_ATTR.sub(" ", line)))
        found += [(number, m.group(1).rstrip(".,;:")) for m in BARE_URL.finditer(bare)]
    return found


def heading_text(raw: str) -> str:
    """A heading as GitHub renders it to text: code spans keep their content, links their text,
    emphasis and HTML tags go."""
    parts = []
    for index, piece in enumerate(re.split(r"(`+[^`]*`+)", raw)):
        if index % 2:  # a code span: literal
            parts.append(piece.strip("`").strip())
            continue
        piece = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", piece)
        piece = re.sub(r"<[^>]+>", "", piece)
        piece = re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"\1", piece)
        parts.append(piece.replace("*", ""))
    return "".join(parts)


def github_slug(text: str) -> str:
    """github-slugger: lower case, drop everything but letters, digits, marks, '-', '_' and
    spaces, then each space becomes '-'."""
    kept = "".join(c for c in text.lower()
                   if c.isalnum() or c in " -_" or unicodedata.category(c).startswith("M"))
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = ATX.match(line)
        if match:
            slug = github_slug(heading_text(match.group(2)))
            unique = slug if slug not in seen else f"{slug}-{seen[slug]}"
            seen[slug] = seen.get(slug, 0) + 1
            result.add(unique)
        result.update(HTML_ANCHOR.findall(line))
    return result


# -- the slug rules themselves --------------------------------------------------------------------
@pytest.mark.parametrize("heading, slug", [
    ("Set-up", "set-up"),
    ("Choosing a model, built-in models", "choosing-a-model-built-in-models"),
    ("MusicGen (`backend = \"musicgen\"`)", "musicgen-backend--musicgen"),
    ("Hearing MIDI results (`preview_audio`)", "hearing-midi-results-preview_audio"),
    ("`/dawgen/generate` with a `stable-audio` model", "dawgengenerate-with-a-stable-audio-model"),
    ("[server.memory_budget]", "servermemory_budget"),
    ("1. From the command line", "1-from-the-command-line"),
    ("Provenance and `dawgen regen`", "provenance-and-dawgen-regen"),
    ("**Bold** _and_ [linked](x.md) words", "bold-and-linked-words"),
    ("Sample Manager · Kontakt — Ünïcode", "sample-manager--kontakt--ünïcode"),
])
def test_github_slugs(heading, slug):
    assert github_slug(heading_text(heading)) == slug


def test_repeated_headings_get_numbered_slugs(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# A\n## Setup\n```\n# not a heading\n```\n## Setup\n### Setup\n")
    assert anchors(page) == {"a", "setup", "setup-1", "setup-2"}


def test_links_are_found_outside_code_only(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("see [a](a.md#x) and ![pic](img/p.png \"t\") and `[no](no.md)`\n"
                    "```\n[no](fenced.md)\n```\n[ref]: ref.md\n<https://example.org/x> https://example.com/y.\n"
                    '<img src="img/q.svg"> [`code` text](b.md)\n')
    assert [t for _, t in links(page)] == ["a.md#x", "img/p.png", "ref.md", "https://example.org/x",
                                           "https://example.com/y", "b.md", "img/q.svg"]


# -- the pages ------------------------------------------------------------------------------------
def test_the_pages_exist():
    missing = [str(p.relative_to(REPO)) for p in PAGES if not p.is_file()]
    assert not missing
    names = {p.name for p in (REPO / "docs").glob("*.md")}
    assert {"PROTOCOL.md", "DAW-READY.md", "MODELS.md", "CONFIG.md", "FRONT-DOORS.md", "DEVELOPING.md"} <= names


def check_link(page: Path, target: str) -> str | None:
    """Why `target`, a link on `page`, is broken; None when it is fine."""
    parts = urlsplit(target)
    if parts.scheme:
        if parts.scheme != "https":
            return f"{target}: external links must be https"
        if not HOST.match(parts.netloc) or " " in target:
            return f"{target}: not a well-formed https URL"
        return None
    path_part, _, fragment = target.partition("#")
    file = (page.parent / unquote(path_part)).resolve() if path_part else page
    if REPO not in (file, *file.parents):
        return f"{target}: points outside the repository"
    if not file.exists():
        return f"{target}: no such file {file.relative_to(REPO)}"
    if not fragment:
        return None
    if file.suffix.lower() != ".md":
        return None if re.fullmatch(r"L\d+(-L\d+)?", fragment) else f"{target}: an anchor into a non-Markdown file"
    if fragment not in anchors(file):
        return f"{target}: no heading #{fragment} in {file.relative_to(REPO)}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves(page):
    broken = [f"{page.relative_to(REPO)}:{line}: {why}" for line, target in links(page)
              if (why := check_link(page, target))]
    assert not broken, "\n".join(broken)


def test_a_broken_link_or_anchor_is_caught(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    (tmp_path / "b.md").write_text("# Real heading\n")
    page = tmp_path / "a.md"
    assert check_link(page, "b.md#real-heading") is None
    assert "no heading" in check_link(page, "b.md#fake")
    assert "no such file" in check_link(page, "c.md")
    assert "outside the repository" in check_link(page, "../../etc/passwd")
    assert "https" in check_link(page, "http://example.com/")
    assert "well-formed" in check_link(page, "https://localhost/")


def test_readme_presents_exactly_the_two_setup_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    assert set(re.findall(r"\bmake [\w-]+", readme)) == {"make run", "make test"}
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", setup, re.S)
    assert block, "the Set-up section has no sh block"
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make run", "make test"]


def test_readme_stays_short():
    # the README is the front page; everything else lives in docs/ (12 kB: room for the two measured
    # tables the front page shows, performance and MIDI harmony; the full bench table is a doc page)
    assert len((REPO / "README.md").read_bytes()) < 12_000


# -- docs/CONFIG.md against the code --------------------------------------------------------------
def config_tables() -> dict[str, dict[str, str]]:
    """Per `## ` (and `### `) heading of CONFIG.md: {key: default cell} of its tables."""
    tables: dict[str, dict[str, str]] = {}
    current = ""
    for _, line in prose_lines((REPO / "docs" / "CONFIG.md").read_text(encoding="utf-8")):
        heading = re.match(r"^(##+) (.*)$", line)
        if heading:
            current = heading.group(2).strip()
            continue
        row = re.match(r"^\|\s*`([^`]+)`\s*\|\s*([^|]*?)\s*\|", line)
        if row and current:
            tables.setdefault(current, {})[row.group(1)] = row.group(2)
    return tables


def declared_default(cell: str):
    """The TOML value a default cell shows; `...` when the cell is prose."""
    if cell in ("(empty)",):
        return ""
    value = re.fullmatch(r"`([^`]+)`", cell)
    if not value:
        return ...
    return tomllib.loads(f"v = {value.group(1)}")["v"]


def test_config_doc_lists_every_section_key_with_its_default():
    from server import config

    tables = config_tables()
    for section, cls in [("[server]", config.ServerConfig), ("[output]", config.OutputConfig),
                         ("[midi]", config.MidiConfig), ("[audio]", config.AudioConfig),
                         ("[hotfolder]", config.HotfolderConfig), ("[training]", config.TrainingConfig)]:
        name = section.strip("[]")  # TOML keys that are not Python names map to their field
        documented = {config.FIELD_OF_KEY.get((name, key), key): cell for key, cell in tables.get(section, {}).items()}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        assert set(documented) == set(fields), f"docs/CONFIG.md {section} differs from server/config.py"
        defaults = cls()
        for key, cell in documented.items():
            shown = declared_default(cell)
            if shown is not ...:
                assert shown == getattr(defaults, key), f"{section} {key}: the doc says {cell}"
    assert set(config._SECTIONS) == {s.strip("[]") for s in tables if re.fullmatch(r"\[\w+\]", s)} - {"models.NAME"}


def test_config_doc_lists_recipe_and_model_keys():
    from server import config
    from server.backends import BACKENDS, backend_class

    tables = config_tables()
    recipe_fields = {f.name for f in dataclasses.fields(config.RecipeConfig)}
    assert set(tables["[hotfolder.recipes.NAME]"]) == recipe_fields
    assert set(tables["[models.NAME]"]) == set(config.MODEL_COMMON_KEYS)
    per_backend: dict[str, set[str]] = {}
    for name in BACKENDS:
        for key in backend_class(name).config_keys:
            if key not in config.MODEL_COMMON_KEYS:
                per_backend.setdefault(key, set()).add(name)
    documented = tables["Keys of each backend"]
    assert set(documented) == set(per_backend), "docs/CONFIG.md 'Keys of each backend' differs from the backends"
    for key, cell in documented.items():
        assert set(re.findall(r"`([^`]+)`", cell)) == per_backend[key], f"backends of {key}: {cell}"
