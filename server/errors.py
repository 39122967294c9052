"""The errors a user can cause or see: stable wire words (ErrorCode) and the exception that carries one.

The codes are a str-valued Enum so they compare equal to the words clients receive
(`/dawgen/error id code message`, HTTP bodies, `.error.json` files): never rename a value.
"""
from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    """Stable error words sent to clients. Never rename a value; add new ones at the end."""

    BAD_REQUEST = "bad_request"
    UNKNOWN_VERB = "unknown_verb"
    UNKNOWN_MODEL = "unknown_model"
    MODEL_UNAVAILABLE = "model_unavailable"
    OUT_OF_ROOT = "out_of_root"
    NOT_FOUND = "not_found"
    DUPLICATE_ID = "duplicate_id"
    ALREADY_FINISHED = "already_finished"
    CANCELLED = "cancelled"
    BACKEND_FAILED = "backend_failed"
    WRITE_FAILED = "write_failed"
    OUT_OF_MEMORY = "out_of_memory"
    SHUTTING_DOWN = "shutting_down"
    DEVICE_UNAVAILABLE = "device_unavailable"  # an audio device (audition, capture) is missing or failed
    INTERNAL = "internal"
    # A reply that cannot fit one UDP datagram even abridged; the message says how to ask (TCP, paging).
    REPLY_TOO_LARGE = "reply_too_large"
    QUEUE_FULL = "queue_full"  # [server] max_queued jobs are waiting; nothing was journaled
    # `pull`: a file could not be fetched, or its sha256 / size is not the catalog's or the hub's
    DOWNLOAD_FAILED = "download_failed"
    # a request without a valid token from another machine (or from any, with [server] require_token)
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"  # a client asked for another client's job, a path on the daemon's disk, or admin work

    # The wire word everywhere text is made (f-strings, str(), logs), whatever the Python version:
    # 3.12 changed format() of mixed-in Enums to print "ErrorCode.BAD_REQUEST".
    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class DawgenError(Exception):
    """An error a user can cause or see; carries a stable code."""

    def __init__(self, code: ErrorCode | str, message: str) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class JobCancelled(DawgenError):
    """Raised inside a running job when its cancel flag is seen."""

    def __init__(self, message: str = "cancelled by request") -> None:
        super().__init__(ErrorCode.CANCELLED, message)
