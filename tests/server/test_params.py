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


# -- the parameters many verbs share are declared once (server/params.py) ----------------------------
def _verb_specs():
    from server.backends import BACKENDS, backend_class

    for backend in BACKENDS:
        for verb, specs in backend_class(backend).verbs.items():
            yield backend, verb, {spec.name: spec for spec in specs}


def test_every_seed_and_count_comes_from_the_one_declaration():
    from server.params import SEED_MAX

    count_max = {}
    for backend, verb, specs in _verb_specs():
        if "seed" in specs:
            seed = specs["seed"]
            assert (seed.type, seed.default, seed.min, seed.max) == ("int", None, 0, SEED_MAX), (backend, verb)
        if "count" in specs:
            count = specs["count"]
            assert (count.type, count.default, count.min) == ("int", 1, 1), (backend, verb)
            count_max.setdefault(backend, set()).add(count.max)
    # each backend keeps the count it can make in one job
    assert count_max == {"synth": {64}, "musicgen": {16}, "stable-audio": {16}, "midi": {16}, "audiocraft": {16},
                         "bark": {8}, "diffusers": {16}}
    assert SEED_MAX == 2**31 - 1


def test_seed_max_is_written_in_one_place():
    """No module keeps its own copy of SEED_MAX to drift from the one seeds are validated against."""
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    copies = [str(p.relative_to(repo)) for folder in ("server", "bridge") for p in (repo / folder).rglob("*.py")
              if re.search(r"^\s*SEED_MAX\s*=|2\s*\*\*\s*31", p.read_text(), re.M)]
    assert copies == ["server/params.py"]


def test_the_common_bpm_and_the_synths_bpm_are_one_range(tmp_path):
    from server.config import load
    from server.engine import Engine
    from server.journal import Journal
    from server.params import BPM_MAX, BPM_MIN

    engine = Engine(load(None, {"output.root": str(tmp_path)}), journal=Journal(":memory:"))
    synth = {s.name: s for s in engine.params_for("synth", "generate")}["bpm"]
    common = {s.name: s for s in engine.params_for("midi", "midi/generate")}["bpm"]
    assert (synth.min, synth.max) == (common.min, common.max) == (BPM_MIN, BPM_MAX) == (20.0, 400.0)
    assert synth.default == 120.0 and common.default is None
    for bpm in (10, 1000, 19.9, 400.1):
        with pytest.raises(DawgenError) as info:
            validate([synth], {"bpm": bpm}, "synth/generate")
        assert info.value.code == "bad_request" and "bpm" in info.value.message
