"""The load preamble and option checks the Hugging Face-library backends share
(server/backends/hf_runtime.py, torch_util.prepare)."""
from __future__ import annotations

import os

import pytest

from server.backends.hf_runtime import DTYPES, check_options
from server.errors import DawgenError, ErrorCode


def test_options_are_checked_with_the_words_every_backend_used():
    check_options("m", {"dtype": "bfloat16", "threads": 0})
    with pytest.raises(DawgenError, match=r"models\.m\.dtype: 'int8' is not one of auto, float32") as bad:
        check_options("m", {"dtype": "int8"})
    assert bad.value.code == ErrorCode.MODEL_UNAVAILABLE
    with pytest.raises(DawgenError, match=r"models\.m\.threads: must be >= 0"):
        check_options("m", {"threads": -1})
    check_options("m", {"threads": -1}, threads=False)  # stable-audio leaves threads to cpu_threads
    with pytest.raises(DawgenError, match="is not one of auto, float32, float16$"):
        check_options("m", {"dtype": "bfloat16"}, DTYPES[:3])


def test_prepare_goes_offline_and_sets_cpu_threads(monkeypatch):
    torch = pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    from server.backends.torch_util import prepare

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    before = torch.get_num_threads()
    try:
        device, dtype = prepare({"threads": 1, "dtype": "bfloat16"}, "cpu")
        assert (device, dtype, torch.get_num_threads()) == ("cpu", torch.bfloat16, 1)
        assert os.environ["HF_HUB_OFFLINE"] == "1"
        assert prepare({}, "cpu")[1] == torch.float32  # auto: float32 off CUDA
    finally:
        torch.set_num_threads(before)


def test_prepare_quiets_the_libraries_it_is_given():
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    transformers = pytest.importorskip("transformers", reason="transformers is not installed")
    from server.backends.torch_util import prepare

    logging = transformers.utils.logging
    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_info()
    logging.enable_progress_bar()
    try:
        prepare({"threads": 1}, "cpu", quiet=("transformers",))
        assert logging.get_verbosity() == logging.ERROR and not logging.is_progress_bar_enabled()
    finally:
        logging.set_verbosity(verbosity)
        (logging.enable_progress_bar if bars else logging.disable_progress_bar)()
