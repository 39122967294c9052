import pytest

from server.music import parse_key, parse_time_signature


@pytest.mark.parametrize("text, name, root, minor", [
    ("Am", "Am", 9, True), ("a minor", "Am", 9, True), ("C#", "C#", 1, False), ("Bb maj", "Bb", 10, False),
    ("F♯m", "F#m", 6, True), ("Cb", "Cb", 11, False), ("e", "E", 4, False),
])
def test_keys(text, name, root, minor):
    key = parse_key(text)
    assert (key.name, key.root, key.minor) == (name, root, minor)
    assert key.root_note == 60 + root


@pytest.mark.parametrize("bad", ["H", "Am7", "", "C##", "minor"])
def test_bad_keys(bad):
    with pytest.raises(ValueError):
        parse_key(bad)


def test_time_signatures():
    assert parse_time_signature("7/8") == (7, 8)
    assert parse_time_signature(" 3 / 4 ") == (3, 4)
    for bad in ("4", "4/3", "0/4", "33/4", "x/4", "4/0"):
        with pytest.raises(ValueError):
            parse_time_signature(bad)
