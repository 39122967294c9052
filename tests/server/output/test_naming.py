import pytest

from server.output.naming import check_subdir, output_stem, slugify


@pytest.mark.parametrize("text, slug", [
    ("Punchy Kick!! (808)", "punchy-kick-808"),
    ("  ", "untitled"),
    ("Café crème — lofi", "cafe-creme-lofi"),
    ("con", "con-"),
    ("a/b\\c:d*e?f", "a-b-c-d-e-f"),
    ("x" * 100, "x" * 48),
])
def test_slugify(text, slug):
    assert slugify(text) == slug


def test_stem_has_prompt_and_seed():
    assert output_stem("Dark 808", "generate", 42) == "dark-808_42"
    assert output_stem("", "generate", 7) == "generate_7"


@pytest.mark.parametrize("bad", ["../x", "a/../../b", "/abs", "C:\\Users", "~/x", "..\\up"])
def test_escapes_are_permission_errors(bad):
    with pytest.raises(PermissionError):
        check_subdir(bad)


@pytest.mark.parametrize("bad", ["ab:c", "what?", "trailing.", "CON", "aux.txt"])
def test_names_invalid_elsewhere_are_value_errors(bad):
    with pytest.raises(ValueError):
        check_subdir(bad)


def test_good_subdirs():
    assert check_subdir("Samples/Kicks") == ["Samples", "Kicks"]
    assert check_subdir("./a//b/") == ["a", "b"]
    assert check_subdir("") == []
