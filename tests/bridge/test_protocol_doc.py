"""docs/PROTOCOL.md is a contract: it must list exactly what the code accepts and sends."""
import re
from pathlib import Path

from bridge import protocol as proto
from bridge.protocol_doc import address_tables
from server.errors import ErrorCode

DOC = (Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md").read_text()


def doc_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in DOC.splitlines():
        if line.startswith("### /dawgen/"):
            current = line[4:].strip()
            sections[current] = []
        elif line.startswith("## ") or line.startswith("### "):
            current = None
        elif current and line.startswith("| `"):
            sections[current].append(line.strip())
    return sections


def test_every_request_address_is_documented_with_its_exact_parameters():
    code = address_tables()
    doc = doc_sections()
    assert sorted(doc) == sorted(code), "addresses differ between docs/PROTOCOL.md and the code"
    for address, rows in code.items():
        assert doc[address] == rows, f"{address}: parameter table differs from the code"


def test_every_reply_address_is_documented_with_its_arguments():
    table = {}
    for line in DOC.split("## Replies", 1)[1].split("###", 1)[0].splitlines():
        m = re.match(r"\| `(/dawgen/\w+)` \| `([^`]*)` \|", line)
        if m:
            table[m.group(1)] = m.group(2)
    assert sorted(table) == sorted(proto.REPLIES)
    for address, args in proto.REPLIES.items():
        documented = table[address].replace("[", "").replace("]", "").split()
        expected = [a for a in args if a != "..."]
        assert documented[: len(expected)] == expected, address


def test_every_error_code_is_documented():
    codes = {code.value for code in ErrorCode}
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOC.split("### Error codes", 1)[1].split("## ", 1)[0], re.M))
    assert documented == codes
