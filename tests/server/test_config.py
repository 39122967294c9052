import pytest

from server.config import ConfigError, check_model_keys, load


def write(tmp_path, text):
    path = tmp_path / "dawgen.toml"
    path.write_text(text)
    return path


def test_issue_example_config_loads(tmp_path):
    cfg = load(write(tmp_path, """
[server]
host = "127.0.0.1"
port = 9950
[output]
root = "/path/to/project"
[models.my-kicks]
backend = "stable-audio"
path = "/models/my-finetune"
"""))
    assert cfg.server.port == 9950
    assert str(cfg.output_root) == "/path/to/project"
    assert cfg.models["my-kicks"].backend == "stable-audio"
    assert cfg.models["my-kicks"].options == {"path": "/models/my-finetune"}


def test_unknown_keys_and_wrong_types_are_named(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, """
[server]
prot = 9950
port = "9950"
[output]
bit_depth = 20
[sevrer]
"""))
    text = str(info.value)
    assert "server.prot: unknown key (did you mean 'port'?)" in text
    assert "server.port: expected int" in text
    assert "output.bit_depth" in text and "not one of" in text
    assert "unknown section [sevrer]" in text


def test_flags_override_file(tmp_path):
    cfg = load(write(tmp_path, "[server]\nport = 9000\n"), {"server.port": 9100, "output.root": str(tmp_path)})
    assert cfg.server.port == 9100
    assert cfg.output_root == tmp_path


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(write(tmp_path, "[server\n"))


def test_model_entry_needs_backend_and_keys_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="models.x.backend: required"):
        load(write(tmp_path, "[models.x]\npath = '/m'\n"))
    cfg = load(write(tmp_path, "[models.x]\nbackend = 'synth'\npaht = '/m'\n"))
    errors = check_model_keys(cfg.models["x"], {})
    assert errors and "paht" in errors[0] and "did you mean 'path'" in errors[0]


def test_queue_bound_and_how_long_finished_jobs_are_kept(tmp_path):
    default = load(None).server
    assert default.max_queued == 1000 and default.keep_finished_days == 30
    cfg = load(write(tmp_path, "[server]\nmax_queued = 50\nkeep_finished_days = 7\n")).server
    assert cfg.max_queued == 50 and cfg.keep_finished_days == 7
    old = load(write(tmp_path, "[server]\njournal_keep_days = 3\n")).server  # the old name, in users' configs
    assert old.keep_finished_days == 3 and old.journal_keep_days == 3
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, "[server]\nmax_queued = 0\njournal_keep_days = 3\nkeep_finished_days = 4\n"))
    assert "server.max_queued: 0 must be at least 1" in str(info.value)
    assert "set only keep_finished_days" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load(None, {"server.keep_finished_days": -1})
    assert "server.keep_finished_days: -1.0 is negative" in str(info.value)


def test_web_section_binds_loopback_unless_asked_and_then_needs_tokens(tmp_path):
    cfg = load(None)
    assert cfg.web.enabled and cfg.web.host == "127.0.0.1" and cfg.web_port == 9957
    assert load(None, {"server.port": 0}).web_port == 0  # a free OSC port: a free web port too
    assert load(None, {"server.port": 0, "web.port": 9000}).web_port == 9000
    with pytest.raises(ConfigError, match="web.tokens"):
        load(None, {"web.host": "0.0.0.0"})
    with pytest.raises(ConfigError, match="too short"):
        load(None, {"web.host": "0.0.0.0", "web.tokens": ["short"]})
    assert load(None, {"web.host": "0.0.0.0", "web.tokens": ["a-token-of-16-chars"]}).web.tokens == ["a-token-of-16-chars"]
    with pytest.raises(ConfigError, match="web.port"):
        load(None, {"web.port": 70000})
