"""Error codes (server/errors.py, the same words OSC sends) → HTTP statuses, in one table."""
from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from server.errors import DawgenError, ErrorCode

# Every code a reply can carry; docs/HTTP.md lists the same table (tests/bridge/test_web_doc.py).
STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNKNOWN_VERB: 400,
    ErrorCode.UNKNOWN_MODEL: 404,
    ErrorCode.MODEL_UNAVAILABLE: 409,
    ErrorCode.OUT_OF_ROOT: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.DUPLICATE_ID: 409,
    ErrorCode.ALREADY_FINISHED: 409,
    ErrorCode.CANCELLED: 409,
    ErrorCode.BACKEND_FAILED: 500,
    ErrorCode.WRITE_FAILED: 500,
    ErrorCode.OUT_OF_MEMORY: 507,
    ErrorCode.SHUTTING_DOWN: 503,
    ErrorCode.DEVICE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
    ErrorCode.REPLY_TOO_LARGE: 413,
    ErrorCode.QUEUE_FULL: 429,
    ErrorCode.DOWNLOAD_FAILED: 502,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
}


def error_response(code: ErrorCode | str, message: str) -> JSONResponse:
    code = ErrorCode(code)
    return JSONResponse({"code": code.value, "message": message}, status_code=STATUS[code])


async def on_dawgen_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DawgenError)
    return error_response(exc.code, exc.message)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A body or query the framework could not read: bad_request, with where and why."""
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors())
    return error_response(ErrorCode.BAD_REQUEST, problems or "the request could not be read")
