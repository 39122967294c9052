import pytest

from server.errors import DawgenError
from server.params import ParamSpec, merge_specs, validate

SPECS = [
    ParamSpec("prompt", "str", "kick"),
    ParamSpec("seconds", "float", None, min=0.05, max=60),
    ParamSpec("count", "int", 1, min=1, max=64),
    ParamSpec("loop", "bool", False),
    ParamSpec("format", "str", "wav", choices=("wav", "flac")),
]


def test_defaults_and_coercion():
    out = validate(SPECS, {"seconds": 2, "count": "3", "loop": 1, "prompt": 808}, "t")
    assert out == {"prompt": "808", "seconds": 2.0, "count": 3, "loop": True, "format": "wav"}
    assert isinstance(out["seconds"], float)


@pytest.mark.parametrize("raw, word", [
    ({"seconds": 0.01}, "minimum"),
    ({"seconds": 61}, "maximum"),
    ({"seconds": "abc"}, "number"),
    ({"seconds": float("nan")}, "finite"),
    ({"count": 1.5}, "integer"),
    ({"count": True}, "boolean"),
    ({"loop": "maybe"}, "true/false"),
    ({"format": "mp3"}, "not one of"),
    ({"colour": "red"}, "unknown parameter"),
    ({"prompt": "x" * 2000}, "longer"),
])
def test_bad_values_are_bad_requests_naming_the_param(raw, word):
    with pytest.raises(DawgenError) as info:
        validate(SPECS, raw, "synth/generate")
    assert info.value.code == "bad_request"
    assert word in info.value.message
    assert list(raw)[0] in info.value.message


def test_check_hook_and_merge_override():
    def even(v):
        if v % 2:
            raise ValueError("must be even")
    specs = merge_specs(SPECS, [ParamSpec("count", "int", 2, check=even)])
    assert validate(specs, {}, "t")["count"] == 2
    with pytest.raises(DawgenError, match="must be even"):
        validate(specs, {"count": 3}, "t")


def test_describe_lists_ranges():
    d = SPECS[1].describe()
    assert d == {"name": "seconds", "type": "float", "default": None, "min": 0.05, "max": 60}
