"""What each child process of the daemon (a lane's model process and its writer process) does first."""
from __future__ import annotations

import logging
import os
import signal
import sys

from .config import Config
from .malloc import keep_buffers


def start_child(parent_pid: int, config: Config, role: str) -> None:
    """Die with the daemon, reuse large buffers, leave Ctrl-C to the daemon, log as `role-PID`."""
    die_with_parent(parent_pid)
    keep_buffers()  # the chain's and the models' 4-8 MB temporaries reused, not re-mapped (server/malloc.py)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the daemon's to handle (it drains)
    logging.basicConfig(level=config.server.log_level.upper(), stream=sys.stderr,
                        format=f"%(asctime)s %(levelname)s %(name)s[{role}-%(process)d]: %(message)s")


def die_with_parent(parent_pid: int) -> None:
    """On Linux the kernel kills us when the daemon dies (even by kill -9): a child never outlives
    its daemon and never writes a file for a job the next daemon will re-run."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(0)
