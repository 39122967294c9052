"""The one check of a file a request names (`input`, `input2`): every backend that reads a file the
producer points at uses it, so the same mistake gets the same words whatever the verb."""
from __future__ import annotations

import os
from typing import Any, Mapping


def input_file(params: Mapping[str, Any], name: str = "input", what: str = "an audio file") -> str:
    """`params[name]` as the absolute path of an existing file; ValueError (bad_request at submit)
    says what is wrong. Relative paths are refused: the daemon's working folder is not the DAW's."""
    raw = str(params.get(name) or "").strip()
    if not raw:
        raise ValueError(f"{name}: required (give the path of {what})")
    path = os.path.expanduser(raw)
    if not os.path.isabs(path):
        raise ValueError(f"{name}: {raw!r} is a relative path, not an absolute path; give an absolute path "
                         "(the daemon's working folder is not yours)")
    if not os.path.exists(path):
        raise ValueError(f"{name}: {path} does not exist (no file there)")
    if not os.path.isfile(path):
        raise ValueError(f"{name}: {path} is not a file")
    return path
