"""server/malloc.py: after keep_buffers(), big temporaries freed and made again reuse their pages
(no fresh page faults), and the DAW-ready chain run again on 10 s of stereo makes next to none, as
the model process's writer does for every file. The chain's loop path (a 5-bar loop at its own
tempo to -14 LUFS) is the one with big temporaries (the K-weighted rows the limiter's rounds read,
the true-peak envelope)."""
import subprocess
import sys

import pytest

TUNE = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from server.malloc import keep_buffers
    assert keep_buffers()
"""

# Buffers of a 10 s file's sizes, made and freed in turn: glibc maps the larger ones afresh and
# gives freed heap back, so each round faults its pages in again, unless they are kept.
BUFFERS = TUNE + """
def one():
    rows = np.ones((2, 480_000))               # 7.7 MB: the K-weighted rows (float64)
    oversampled = np.ones(1_930_000, np.float32)  # 7.7 MB: a channel's 4x oversampling
    pcm = np.ones(2_880_000, np.uint8)          # 2.9 MB: the packed 24-bit PCM
    return float(rows[0, 0] + oversampled[0] + pcm[0])
one()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    one()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

CHAIN = TUNE + """
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

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")


def _faults(probe: str, mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", probe, mode], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


@linux_only
def test_kept_buffers_are_reused_without_new_page_faults():
    default, tuned = _faults(BUFFERS, "default"), _faults(BUFFERS, "tuned")
    assert default > 1000  # glibc's defaults: thousands of pages mapped afresh per round
    assert tuned < default / 20


@linux_only
def test_the_chain_run_again_makes_next_to_no_new_page_faults():
    # One 7.7 MB buffer mapped afresh is ~1,900 faults; three runs of the chain make a few dozen.
    assert _faults(CHAIN, "tuned") < 300
