"""[hotfolder] and [hotfolder.recipes.NAME]: defaults, merging over the defaults, errors naming the key."""
import pytest

from server.config import ConfigError, load


def write(tmp_path, text):
    path = tmp_path / "dawgen.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_section():
    hf = load(None).hotfolder
    assert hf.enabled and hf.rescan_seconds == 5.0 and hf.settle_seconds == 2.0
    assert {n: (r.verb, r.takes) for n, r in hf.recipes.items()} == {
        "stems": ("separate", "audio"), "vary": ("vary", "audio"), "continue": ("continue", "audio"),
        "transcribe": ("transcribe", "audio"), "generate": ("generate", "prompts"), "train": ("train", "folder")}


def test_recipes_are_added_and_override_defaults(tmp_path):
    hf = load(write(tmp_path, """
[hotfolder]
settle_seconds = 0.5
rescan_seconds = 2

[hotfolder.recipes.generate]
params = { count = 4, bpm = 120 }

[hotfolder.recipes.stems]
enabled = false

[hotfolder.recipes.drums-only]
verb = "separate"
params = { mode = "only:drums" }

[hotfolder.recipes.groove]
verb = "midi/groove"
takes = "midi"
""")).hotfolder
    assert hf.settle_seconds == 0.5 and hf.rescan_seconds == 2.0
    assert hf.recipes["generate"].verb == "generate" and hf.recipes["generate"].takes == "prompts"
    assert hf.recipes["generate"].params == {"count": 4, "bpm": 120}
    assert hf.recipes["stems"].enabled is False
    assert hf.recipes["drums-only"].verb == "separate" and hf.recipes["drums-only"].params == {"mode": "only:drums"}
    assert hf.recipes["groove"].takes == "midi"
    assert "vary" in hf.recipes  # defaults not named stay


def test_bad_hotfolder_config_names_every_key(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, """
[hotfolder]
enabeld = true
rescan_seconds = 0
settle_seconds = -1

[hotfolder.recipes.mine]
params = { prompt = "kick" }

[hotfolder.recipes."a b"]
verb = "generate"

[hotfolder.recipes.x]
verb = "Generate!"
takes = "video"
params = { dir = "elsewhere", input = "x", tags = ["a"] }
colour = "red"
"""))
    text = str(info.value)
    for expected in (
        "hotfolder.enabeld: unknown key (did you mean 'enabled'?)",
        "hotfolder.rescan_seconds: 0.0 must be > 0",
        "hotfolder.settle_seconds: -1.0 must be >= 0",
        "hotfolder.recipes.mine.verb: required",
        "hotfolder.recipes.a b: a recipe name is a folder name",
        "hotfolder.recipes.x.verb: 'Generate!' is not a verb",
        "hotfolder.recipes.x.takes: 'video' is not one of audio, midi, prompts",
        "hotfolder.recipes.x.params.dir: set by the hot folder",
        "hotfolder.recipes.x.params.input: set by the hot folder",
        "hotfolder.recipes.x.params.tags: expected a string, number or boolean",
        "hotfolder.recipes.x.colour: unknown key",
    ):
        assert expected in text, expected


def test_recipes_must_be_tables(tmp_path):
    with pytest.raises(ConfigError, match=r"hotfolder.recipes.stems: must be a table"):
        load(write(tmp_path, '[hotfolder.recipes]\nstems = "separate"\n'))
    with pytest.raises(ConfigError, match=r"hotfolder.recipes: expected a table"):
        load(write(tmp_path, '[hotfolder]\nrecipes = "all"\n'))
