"""The `dawgen` CLI's exit codes: 0 done, 1 a request or job failed, 2 usage, 3 no daemon answered."""
from __future__ import annotations

import sys

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
NO_ANSWER = ("timeout", "disconnected")  # ClientError codes that mean no daemon answered


def client_failed(command: str, exc: Exception) -> int:
    """Say why a call to the daemon failed (a ClientError, or the socket's OSError) on stderr, and
    return its exit code: 3 when no daemon answered, else 1."""
    code = getattr(exc, "code", None)
    if code is None:  # OSError: the socket itself
        print(f"dawgen {command}: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    print(f"dawgen {command}: {code}: {getattr(exc, 'message', exc)}", file=sys.stderr)
    return EXIT_UNREACHABLE if code in NO_ANSWER else EXIT_ERROR
