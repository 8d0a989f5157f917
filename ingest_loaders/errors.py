"""Load errors: transient ones are retried, terminal ones need the data (or config) fixed.

Every error names what it was loading (source, day, file) so the message alone says where
to look.
"""

from __future__ import annotations

import datetime as dt
import re

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError
from clickhouse_connect.driver.exceptions import ClickHouseError

from saas_warehouse.warehouse import clickhouse_message

# ClickHouse error codes worth retrying: the network, the object store or the server was
# briefly unable, not the data.
TRANSIENT_CODES = frozenset(
    {
        159,  # TIMEOUT_EXCEEDED
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        198,  # DNS_ERROR
        242,  # TABLE_IS_READ_ONLY
        252,  # TOO_MANY_PARTS
        425,  # SYSTEM_ERROR
        1000,  # POCO_EXCEPTION (connection refused/reset)
    }
)
S3_ERROR = 499
_RETRYABLE_S3 = re.compile(
    r"HTTP (?:response )?code:? *5\d\d|SlowDown|InternalError|ServiceUnavailable|Timeout|"
    r"Connection refused|Connection reset|Poco::Exception",
    re.IGNORECASE,
)
_CODE = re.compile(r"Code: (\d+)")
MESSAGE_LIMIT = 400  # characters of an error kept in a load error or a log line


class LoadError(Exception):
    """A partition could not be loaded."""

    def __init__(
        self, reason: str, *, source: str, day: dt.date, file: str | None = None
    ) -> None:
        self.reason = reason
        self.source = source
        self.day = day
        self.file = file
        where = f"{source} {day.isoformat()}" + (f" file {file}" if file else "")
        super().__init__(f"{where}: {reason}")


class TransientLoadError(LoadError):
    """Worth retrying: the store, network or server was briefly unavailable."""


class TerminalLoadError(LoadError):
    """Retrying will not help: the files break the contract or the setup is wrong."""

    def __init__(
        self, reason: str, *, source: str, day: dt.date, file: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(reason, source=source, day=day, file=file)
        # What the user should do: a file's error is fixed in the files, others in the setup.
        self.hint = hint or (
            "Fix or re-export the files, then re-run this day." if file
            else "Nothing was swapped in: fix what ClickHouse refused, then re-run this day."
        )


def clickhouse_error_code(error: BaseException) -> int | None:
    match = _CODE.search(str(error))
    return int(match.group(1)) if match else None


def is_transient(error: BaseException) -> bool:
    """Whether a ClickHouse or network error is worth retrying."""
    if isinstance(error, (ConnectionError, TimeoutError, BotoConnectionError, HTTPClientError)):
        return True
    if _is_retryable_s3_response(error):
        return True
    code = clickhouse_error_code(error)
    if code in TRANSIENT_CODES:
        return True
    if code == S3_ERROR:
        return bool(_RETRYABLE_S3.search(str(error)))
    if isinstance(error, ClickHouseError) and code is None:
        # No server code: the HTTP connection itself failed (clickhouse-connect's OperationalError).
        return "connection" in str(error).lower() or "timed out" in str(error).lower()
    return False


def _is_retryable_s3_response(error: BaseException) -> bool:
    """A boto3 ClientError whose HTTP status or code says the store was briefly unable."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    code = response.get("Error", {}).get("Code", "")
    return status >= 500 or code in {"SlowDown", "RequestTimeout", "Throttling"}


def classify(
    error: BaseException, *, source: str, day: dt.date, file: str | None, what: str
) -> LoadError:
    """Wrap a low-level error into a transient or terminal LoadError."""
    cls = TransientLoadError if is_transient(error) else TerminalLoadError
    reason = f"{what}: {clickhouse_message(error, MESSAGE_LIMIT)}"
    return cls(reason, source=source, day=day, file=file)
