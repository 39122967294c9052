"""server/malloc.py: after keep_buffers(), the DAW-ready chain run again on 10 s of stereo reuses
its buffers' pages (no fresh page faults), as the model process's writer does for every file. The
loop path (a 5-bar loop at its own tempo to -14 LUFS): it is the one with big temporaries (the
K-weighted rows the limiter's rounds read, the true-peak envelope); a one-shot's peak
normalisation no longer makes any (post/_kernels.py)."""
import subprocess
import sys

import pytest

PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from server.malloc import keep_buffers
    assert keep_buffers()
from server.backends.base import Audio
from server.post.pipeline import prepare
x = (np.random.default_rng(0).standard_normal((480_000, 2)) * 0.1).astype(np.float32)
loop = Audio(x, 48000, meta={"bpm": 120})
params = {"sample_rate": 48000, "bpm": 120, "bars": 5}
prepare(loop, params)  # the first run's pages are new either way
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    prepare(loop, params)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_the_chain_reuses_its_buffers_without_new_page_faults():
    default, tuned = _faults("default"), _faults("tuned")
    assert default > 1000  # glibc's defaults: thousands of pages mapped afresh per file
    assert tuned < default / 20
