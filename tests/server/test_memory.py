"""Memory budgets (server/memory.py) and the registry's least-recently-used eviction, on real tiny
demucs models saved in demucs' own format and loaded through the registry as the daemon loads them."""
from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ConfigError, parse
from server.errors import DawgenError
from server.memory import GB, BudgetError, Budgets, parse_size, system_ram_bytes
from server.registry import Registry
from tests.server.backends import demucs_tiny


def test_sizes_are_gb_numbers_or_strings_with_units():
    assert parse_size(8) == 8 * GB and parse_size(0.5) == GB // 2
    assert parse_size("512MB") == 512 * 1024 ** 2 and parse_size("12 GiB") == 12 * GB and parse_size("2g") == 2 * GB
    for bad in ("lots", -1, 0, True, "12 parsecs"):
        with pytest.raises(BudgetError, match="memory_budget"):
            parse_size(bad)


def test_config_names_the_bad_budget_entry():
    config = parse({"server": {"memory_budget": {"cuda": 10, "cpu": "8GB"}}})
    budgets = Budgets(config.server.memory_budget)
    assert budgets.for_device("cuda:1") == 10 * GB  # `cuda` covers every CUDA device
    assert budgets.for_device("cpu") == 8 * GB
    with pytest.raises(ConfigError, match=r"server.memory_budget.gpu0: not a device"):
        parse({"server": {"memory_budget": {"gpu0": 4}}})
    with pytest.raises(ConfigError, match=r"server.memory_budget.cpu: expected a size"):
        parse({"server": {"memory_budget": {"cpu": "plenty"}}})
    with pytest.raises(ConfigError, match=r"server.memory_budget: expected a table"):
        parse({"server": {"memory_budget": 8}})


def test_default_cpu_budget_is_half_the_ram():
    assert Budgets().for_device("cpu") == system_ram_bytes() // 2
    assert "half the system" in Budgets().source("cpu")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("demucs", reason="the demucs extra is not installed (pip install 'dawgen[demucs]')")
    return demucs_tiny.make_repo(tmp_path_factory.mktemp("demucs-repo"))


def registry_with(repo: Path, budget: object, names=("a", "b", "c")) -> Registry:
    models = {name: {"backend": "demucs", "path": str(repo), "name": "tiny", "device": "cpu"} for name in names}
    return Registry(parse({"server": {"memory_budget": {"cpu": budget}}, "models": models}))


def test_least_recently_used_model_is_unloaded_to_make_room(repo):
    probe = registry_with(repo, 8)
    one = probe.resolve("a").backend.memory_bytes()
    assert one > 0  # estimated from the weight files before loading
    registry = registry_with(repo, f"{int(one * 2.5)}B")  # room for two warm models, not three
    registry.backend("a")
    registry.backend("b")
    registry.backend("a")  # a is now more recently used than b
    registry.backend("c")
    warm = registry.warm()
    assert set(warm) == {"a", "c"}, warm
    assert registry.resolve("b").evictions == 1 and not registry.resolve("b").backend.loaded
    assert all(facts["device"] == "cpu" and facts["memory_bytes"] > 0 for facts in warm.values())
    registry.backend("b")  # b comes back (warming again), evicting a, now the least recently used
    assert set(registry.warm()) == {"b", "c"}


def test_a_model_larger_than_the_budget_is_refused_and_nothing_is_unloaded(repo):
    registry = Registry(parse({"server": {"memory_budget": {"cpu": "1KB"}}, "models": {
        "big": {"backend": "demucs", "path": str(repo), "name": "tiny_bag", "device": "cpu"}}}))
    registry.backend("synth")
    with pytest.raises(DawgenError) as err:
        registry.backend("big")
    assert err.value.code == "out_of_memory"
    assert "needs about" in err.value.message and "server.memory_budget.cpu" in err.value.message
    assert set(registry.warm()) == {"synth"}


def test_models_on_other_devices_do_not_count(repo):
    registry = registry_with(repo, "1KB", names=("a",))
    registry.backend("synth")  # the synth needs no memory worth counting
    with pytest.raises(DawgenError, match="out_of_memory|needs about"):
        registry.backend("a")
    assert "synth" in registry.warm()
