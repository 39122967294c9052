"""[clients.NAME] and the binding rule: another address than loopback needs a client."""
import pytest

from server.config import ConfigError, load
from server.config_clients import allowed_priority, binding_refusal

TOKEN = "t" * 24


def write(tmp_path, text):
    path = tmp_path / "dawgen.toml"
    path.write_text(text)
    return path


def test_clients_with_token_or_token_file_and_their_defaults(tmp_path):
    (tmp_path / "bob.token").write_text("b" * 20 + "\n")
    cfg = load(write(tmp_path, f"""
[server]
require_token = true
[clients.alice]
token = "{TOKEN}"
share = 2
max_priority = 5
[clients.bob]
token_file = "bob.token"
"""))
    assert cfg.server.require_token and cfg.server.max_upload_bytes == 256 * 1024 * 1024
    alice, bob = cfg.clients["alice"], cfg.clients["bob"]
    assert (alice.token, alice.share, alice.max_priority, alice.max_queued) == (TOKEN, 2, 5, 100)
    assert (bob.token, bob.share, bob.max_priority, bob.max_queued) == ("b" * 20, 1, 0, 100)
    assert TOKEN not in repr(alice) and "b" * 20 not in repr(cfg)


@pytest.mark.parametrize("entry, message", [
    ('token = "short"', "too short"),
    ("share = 0", "set one of token or token_file"),
    (f'token = "{TOKEN}"\nshare = 0', "clients.x.share: 0 must be at least 1"),
    (f'token = "{TOKEN}"\nmax_queued = 0', "max_queued: 0 must be at least 1"),
    (f'token = "{TOKEN}"\ntoken_file = "f"', "set one of token or token_file"),
    (f'token = "{TOKEN}"\nshares = 2', "clients.x.shares: unknown key (did you mean 'share'?)"),
    ('token_file = "missing.token"', "clients.x.token_file: cannot read"),
])
def test_bad_client_entries_are_named(tmp_path, entry, message):
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, f"[clients.x]\n{entry}\n"))
    assert message in str(info.value)
    assert TOKEN not in str(info.value)


def test_two_clients_with_one_token_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="the same token as clients.a"):
        load(write(tmp_path, f'[clients.a]\ntoken = "{TOKEN}"\n[clients.b]\ntoken = "{TOKEN}"\n'))


def test_binding_refusal_says_how_to_add_a_client(tmp_path):
    assert binding_refusal("127.0.0.1", {}) == "" and binding_refusal("::1", {}) == ""
    text = binding_refusal("0.0.0.0", {}, "/etc/dawgen.toml")
    assert "dawgen token add NAME --config /etc/dawgen.toml" in text
    cfg = load(write(tmp_path, f'[clients.a]\ntoken = "{TOKEN}"\n'))
    assert binding_refusal("0.0.0.0", cfg.clients) == ""


def test_web_on_the_lan_is_let_through_by_clients_too(tmp_path):
    with pytest.raises(ConfigError, match="dawgen token add NAME"):
        load(write(tmp_path, '[web]\nhost = "0.0.0.0"\n'))
    assert load(write(tmp_path, f'[web]\nhost = "0.0.0.0"\n[clients.a]\ntoken = "{TOKEN}"\n')).web.host == "0.0.0.0"


def test_max_priority_caps_a_client_never_the_admin(tmp_path):
    cfg = load(write(tmp_path, f'[clients.a]\ntoken = "{TOKEN}"\nmax_priority = 3\n'))
    assert allowed_priority(cfg.clients, "a", 9) == 3
    assert allowed_priority(cfg.clients, "a", -2) == -2
    assert allowed_priority(cfg.clients, "gone", 9) == 0  # no longer configured: the defaults
    assert allowed_priority(cfg.clients, "", 9) == 9
