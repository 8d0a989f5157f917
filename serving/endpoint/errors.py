"""Errors as ClickHouse's HTTP interface reports them: `Code: N. DB::Exception: … (NAME)`, the
code in `X-ClickHouse-Exception-Code`, and the HTTP status ClickHouse maps the code to."""

from __future__ import annotations

import re

from saas_warehouse.warehouse import clickhouse_message

CODE_NAMES = {
    6: "CANNOT_PARSE_TEXT", 60: "UNKNOWN_TABLE", 62: "SYNTAX_ERROR", 73: "UNKNOWN_FORMAT",
    81: "UNKNOWN_DATABASE", 115: "UNKNOWN_SETTING", 164: "READONLY", 201: "QUOTA_EXCEEDED",
    202: "TOO_MANY_SIMULTANEOUS_QUERIES", 271: "CANNOT_DECOMPRESS", 373: "SESSION_IS_LOCKED",
    396: "TOO_MANY_ROWS_OR_BYTES", 452: "SETTING_CONSTRAINT_VIOLATION",
    497: "ACCESS_DENIED", 516: "AUTHENTICATION_FAILED", 1001: "STD_EXCEPTION",
}
# ClickHouse's HTTPHandler: exceptionCodeToHTTPStatus (the codes clients act on).
_STATUS = {
    516: 401, 194: 401,
    497: 403, 164: 403, 291: 403, 452: 403,
    60: 404, 81: 404,
    201: 429, 202: 429,
    6: 400, 27: 400, 36: 400, 38: 400, 41: 400, 43: 400, 46: 400, 47: 400, 62: 400,
    73: 400, 115: 400, 271: 400, 373: 400, 117: 400,
}
_CODE = re.compile(r"Code: (\d+)\.")


class ClickHouseError(Exception):
    """An error the endpoint answers with, in ClickHouse's words."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code

    @classmethod
    def make(cls, code: int, text: str) -> ClickHouseError:
        return cls(code, f"Code: {code}. DB::Exception: {text}. ({CODE_NAMES.get(code, 'ERROR')})")

    @classmethod
    def of(cls, error: BaseException) -> ClickHouseError:
        """`error` as ClickHouse said it (chDB raises the engine's text), else code 1001."""
        if isinstance(error, ClickHouseError):
            return error
        message = clickhouse_message(error)
        match = _CODE.search(message)
        if match:
            return cls(int(match[1]), message)
        return cls.make(1001, message or type(error).__name__)

    @property
    def status(self) -> int:
        return _STATUS.get(self.code, 500)


def authentication_failed(user: str) -> ClickHouseError:
    return ClickHouseError.make(
        516, f"{user}: Authentication failed: password is incorrect, or there is no user "
        "with such name")


def refused(user: str, reason: str) -> ClickHouseError:
    """A statement the door refuses: the engine's own code when the refusal quotes one
    (a syntax error), else ACCESS_DENIED."""
    match = _CODE.search(reason)
    code = int(match[1]) if match else 497
    return ClickHouseError.make(code, f"{user}: {clickhouse_message(Exception(reason))}")
