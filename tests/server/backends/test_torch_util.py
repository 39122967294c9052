"""Out-of-memory handling shared by the torch backends (server/backends/torch_util.py)."""
from __future__ import annotations

import pytest

from server.backends.torch_util import is_out_of_memory, run_in_batches
from server.errors import DawgenError


def test_what_counts_as_out_of_memory():
    torch = pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))  # only the allocators' error types
    with pytest.raises(RuntimeError) as real:  # the CPU allocator's own words, from a real allocation
        torch.empty(2 ** 62, dtype=torch.uint8)
    assert is_out_of_memory(real.value)


def test_batches_halve_until_they_fit_and_keep_row_order():
    calls = []

    def run_batch(first, n):
        calls.append((first, n))
        if n > 2:
            raise MemoryError()
        return [f"row{first + i}" for i in range(n)]

    assert run_in_batches(run_batch, 5, "cpu") == [f"row{i}" for i in range(5)]
    assert calls == [(0, 5), (0, 2), (2, 2), (4, 1)]


def test_a_single_row_that_does_not_fit_is_a_clear_job_error_and_others_propagate():
    def never(first, n):
        raise MemoryError()

    with pytest.raises(DawgenError) as err:
        run_in_batches(never, 3, "cuda:0")
    assert err.value.code == "out_of_memory" and "cuda:0" in err.value.message

    def broken(first, n):
        raise ValueError("a bug, not memory")

    with pytest.raises(ValueError):
        run_in_batches(broken, 2, "cpu")


def test_module_bytes_counts_parameters_and_buffers_once_per_module() -> None:
    import gc
    import weakref

    import torch

    from server.backends import torch_util

    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    # 4*3 + 3 weights and bias, 3 + 3 norm affine; buffers: running mean, var (3 + 3 float32) and a count (int64)
    expected = (15 + 6) * 4 + 6 * 4 + 8
    assert torch_util.module_bytes(net) == expected
    assert torch_util.module_bytes(net, None, torch.nn.Linear(2, 2)) == expected + 6 * 4
    with torch.no_grad():
        net[0].weight.mul_(2.0)  # an in-place change (a merged LoRA) keeps the size: the count stands
    assert torch_util.module_bytes(net) == expected
    assert net in torch_util._COUNTED
    alive = weakref.ref(net)
    del net
    gc.collect()
    assert alive() is None  # a freed model is not kept alive by its count
