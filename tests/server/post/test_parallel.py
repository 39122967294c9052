"""Channel rows side by side (post/_parallel.py): same results in the same order, threads only for
long rows and only when a running model leaves cores to spare."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from server.post import _parallel, truepeak
from server.post.resample import resample


def _where(row: int) -> tuple[int, str]:
    return row, threading.current_thread().name


@pytest.fixture
def two_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_parallel, "THREADS", 2)


def test_long_rows_go_to_the_pool_in_order(two_threads: None) -> None:
    out = _parallel.map_rows(_where, [0, 1, 2], frames=_parallel.MIN_FRAMES)
    assert [row for row, _ in out] == [0, 1, 2]
    assert all(name.startswith("dawgen-post") for _, name in out)


def test_short_rows_one_row_or_one_thread_stay_here(two_threads: None, monkeypatch: pytest.MonkeyPatch) -> None:
    here = threading.current_thread().name
    assert {n for _, n in _parallel.map_rows(_where, [0, 1], frames=_parallel.MIN_FRAMES - 1)} == {here}
    assert {n for _, n in _parallel.map_rows(_where, [0], frames=_parallel.MIN_FRAMES)} == {here}
    monkeypatch.setattr(_parallel, "THREADS", 1)
    assert {n for _, n in _parallel.map_rows(_where, [0, 1], frames=_parallel.MIN_FRAMES)} == {here}


def test_a_running_model_keeps_a_small_machine_to_one_thread(two_threads: None, monkeypatch: pytest.MonkeyPatch) -> None:
    here = threading.current_thread().name
    monkeypatch.setattr(_parallel.os, "cpu_count", lambda: 2)
    with _parallel.model_running():
        assert {n for _, n in _parallel.map_rows(_where, [0, 1], frames=_parallel.MIN_FRAMES)} == {here}
        monkeypatch.setattr(_parallel.os, "cpu_count", lambda: _parallel.MANY_CORES)
        assert here not in {n for _, n in _parallel.map_rows(_where, [0, 1], frames=_parallel.MIN_FRAMES)}
    monkeypatch.setattr(_parallel.os, "cpu_count", lambda: 2)
    assert here not in {n for _, n in _parallel.map_rows(_where, [0, 1], frames=_parallel.MIN_FRAMES)}  # model done


def _mark_running(value, started, release) -> None:
    _parallel.share_models_running(value)
    with _parallel.model_running():
        started.set()
        release.wait(30)


def test_a_model_in_the_other_process_keeps_the_writer_to_one_thread(two_threads: None,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The writer process reads what its model process marks, through a shared counter.
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    value, started, release = ctx.Value("i", 0), ctx.Event(), ctx.Event()
    monkeypatch.setattr(_parallel, "_shared", value)
    monkeypatch.setattr(_parallel.os, "cpu_count", lambda: 2)
    here = threading.current_thread().name
    model = ctx.Process(target=_mark_running, args=(value, started, release), daemon=True)
    model.start()
    try:
        assert started.wait(60)
        assert {n for _, n in _parallel.map_rows(_where, [0, 1], frames=_parallel.MIN_FRAMES)} == {here}
    finally:
        release.set()
        model.join(30)
    assert value.value == 0
    assert here not in {n for _, n in _parallel.map_rows(_where, [0, 1], frames=_parallel.MIN_FRAMES)}


@pytest.mark.parametrize("periodic", [False, True])
def test_true_peak_reads_the_same_on_threads(periodic: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    x = (np.random.default_rng(5).standard_normal((3 * _parallel.MIN_FRAMES, 2)) * 0.4).astype(np.float32)
    monkeypatch.setattr(_parallel, "THREADS", 2)
    threaded = truepeak.peak(x, periodic), truepeak.envelope(x, periodic)
    monkeypatch.setattr(_parallel, "THREADS", 1)
    single = truepeak.peak(x, periodic), truepeak.envelope(x, periodic)
    assert threaded[0] == single[0]
    assert np.array_equal(threaded[1], single[1])


@pytest.mark.parametrize("channels,rates", [(2, (44100, 48000)), (3, (48000, 32000))])
def test_resample_converts_the_same_on_threads(channels: int, rates: tuple[int, int],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    x = (np.random.default_rng(6).standard_normal((2 * _parallel.MIN_FRAMES, channels)) * 0.4).astype(np.float32)
    rows_mapped = []
    real = _parallel.map_rows
    monkeypatch.setattr(_parallel, "map_rows", lambda fn, rows, frames: rows_mapped.append(len(rows)) or real(fn, rows, frames))
    monkeypatch.setattr(_parallel, "THREADS", 2)
    threaded = resample(x, *rates)
    assert rows_mapped == [channels]  # one row per channel, side by side
    monkeypatch.setattr(_parallel, "THREADS", 1)
    single = resample(x, *rates)
    assert rows_mapped == [channels]  # one soxr call for all the channels
    assert threaded.shape == single.shape == (round(x.shape[0] * rates[1] / rates[0]), channels)
    assert threaded.flags.c_contiguous and np.array_equal(threaded, single)


@pytest.mark.parametrize("value,expected", [("1", 1), ("3", 3), ("0", 1), ("", None), ("lots", None)])
def test_the_thread_count_from_the_environment(value: str, expected: int | None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAWGEN_POST_THREADS", value)
    default = min(4, _parallel.os.cpu_count() or 1)
    assert _parallel._threads_from_env() == (default if expected is None else expected)
