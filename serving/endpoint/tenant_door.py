"""A tenant's request: the same rows, limits, guard and result ceilings as `query --tenant`
(docs/contract.md §6), on a fresh handle locked with tenant_settings.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, cast

from clickhouse_connect.driver._backend.chdb_backend import _BytesSource
from clickhouse_connect.driver._backendclient import RespBuffCls
from clickhouse_connect.driver.query import QueryContext, QueryResult
from clickhouse_connect.driver.transform import NativeTransform

from serving.access.ceilings import LINE_FORMATS, ResultCeiling, ResultCeilingError
from serving.access.guard import RefusedStatementError, checked_statement
from serving.access.limits import TenantLimits
from serving.access.model import BI_DATABASE, AccessModel, UnknownTenantError, read_access_model
from serving.access.profile import tenant_quota
from serving.endpoint.engine import Handle
from serving.endpoint.errors import ClickHouseError, authentication_failed, refused
from serving.endpoint.logins import Login
from serving.endpoint.protocol import Request
from serving.endpoint.reencode import reencoded
from serving.endpoint.statements import check_tenant_relations, split_format, translate_metadata
from serving.endpoint.tenant_settings import lock_statements, requested_settings

# The formats a tenant's result is counted in as the engine wrote it (ceilings.py); any other
# is counted in Native and then written in its format (reencode.py).
COUNTED_FORMATS = (*LINE_FORMATS, "Native", "JSON", "JSONCompact")
TENANT_DATABASES = {None: BI_DATABASE, "default": BI_DATABASE, BI_DATABASE: BI_DATABASE,
                    "system": "system", "information_schema": "information_schema"}
# A replaced view has a new uuid: a fingerprint that did not change while a query ran
# means no `bi` relation was replaced, renamed or exchanged meanwhile.
_FINGERPRINT = ("SELECT arraySort(groupArray((name, toString(uuid), comment, "
                "toString(metadata_modification_time)))) FROM system.tables "
                "WHERE database = 'bi'")
# A tenant query that ran while `bi` views were replaced runs again, for as long as a dbt
# build takes to replace them in turn (a fixed number of attempts ran out under load).
REPLACED_WAIT_SECONDS = 15.0
RETRY_PAUSE_SECONDS = (0.05, 0.5)  # first pause, doubled up to the second


@dataclass
class Outcome:
    body: bytes
    fmt: str
    result: Any  # the engine's result: rows/bytes read and written, elapsed
    result_rows: int


@dataclass
class _Window:
    """A login's hourly quota, counted at the door: the engine keys quotas by user, and
    every handle is the same `default` user."""
    start: float
    queries: int = 0
    read_rows: int = 0
    seconds: float = 0.0


@dataclass
class Admission:
    """One request's place in its login's quota: `admitted` once counted, so that the door's
    re-runs of it (bi views replaced meanwhile) are that one query, and only then."""
    admitted: bool = False


class TenantDoor:
    def __init__(self, limits: TenantLimits,
                 fresh_handle: Callable[[], AbstractContextManager[Handle]]):
        self.limits = limits
        self._fresh_handle = fresh_handle
        self._quota = tenant_quota(limits)
        self._lock = threading.Lock()
        self._model: AccessModel | None = None
        self._fingerprint: Any = None
        self._databases: list[str] = []
        self._windows: dict[str, _Window] = {}
        self._running: dict[str, int] = {}

    def access(self, handle: Handle, fingerprint: Any) -> tuple[AccessModel, list[str]]:
        """The access model, read again whenever the `bi` relations' fingerprint changed."""
        with self._lock:
            if self._model is None or fingerprint != self._fingerprint:
                self._model = read_access_model(cast(Any, handle))
                self._databases = [r[0] for r in handle.rows("SELECT name FROM system.databases")]
                self._fingerprint = fingerprint
            return self._model, self._databases

    def run(self, handle: Handle, login: Login, request: Request) -> Outcome:
        """The request on `handle`, again on a fresh handle if a `bi` relation was replaced
        while it ran: the engine looks a view's `additional_table_filters` up by the name
        its storage has when the filter is applied, so a query that resolved a view just
        before dbt's `CREATE OR REPLACE VIEW` exchanged it away read it unfiltered (every
        tenant's rows; tests/test_endpoint_load.py). An error is such a result too (it may
        quote a value of the unfiltered rows): it is answered only if nothing was replaced."""
        deadline = time.monotonic() + REPLACED_WAIT_SECONDS
        admission = Admission()
        attempt = 0
        while attempt == 0 or time.monotonic() < deadline:
            if attempt:
                first, longest = RETRY_PAUSE_SECONDS
                time.sleep(min(first * 2 ** (attempt - 1), longest))
            attempt += 1
            with nullcontext(handle) if attempt == 1 else self._fresh_handle() as current:
                fingerprint = current.rows(_FINGERPRINT)
                try:
                    outcome = self._run_once(current, login, request, fingerprint, admission)
                except Exception:
                    # Asked on a fresh handle: this one may hold a failed query's leftovers.
                    with self._fresh_handle() as probe:
                        if probe.rows(_FINGERPRINT) != fingerprint:
                            continue
                    raise
                if current.rows(_FINGERPRINT) == fingerprint:
                    return outcome
        raise ClickHouseError.make(
            218, f"the bi views were replaced while the query ran, {attempt} times in "
            f"{REPLACED_WAIT_SECONDS:g} s (a dbt build?): retry when it is done")

    def _run_once(self, handle: Handle, login: Login, request: Request,
                  fingerprint: Any, admission: Admission) -> Outcome:
        model, databases = self.access(handle, fingerprint)
        try:
            tenant_id = model.require_tenant(login.tenant_id)
        except UnknownTenantError:
            raise authentication_failed(login.name) from None
        if request.database not in TENANT_DATABASES:
            raise ClickHouseError.make(497, f"{login.name}: Not enough privileges to use "
                                       f"database {request.database} (a tenant reads bi)")
        database = TENANT_DATABASES[request.database]
        asked = requested_settings(self.limits, request.settings)
        # One call (the embedded engine runs `;`-separated statements in order).
        handle.run("; ".join([f"USE {database}",
                              *lock_statements(model, tenant_id, self.limits, asked)]))
        try:
            text = translate_metadata(request.statement_text(), database)
            statement, fmt = split_format(handle, text)
            fmt = fmt or request.default_format
            statement = checked_statement(cast(Any, handle), statement, request.parameters,
                                          current_database=database)
            check_tenant_relations(handle, statement, request.parameters, database,
                                   (*model.tenant_columns, *model.shared_views,
                                    *model.unreadable_views), databases)
        except RefusedStatementError as e:
            raise refused(login.name, str(e)) from None
        counted = fmt if fmt in COUNTED_FORMATS else "Native"
        with self._counted(login.name, admission):
            result = handle.run(statement, counted, request.parameters)
        self._charge(login.name, result)
        ceiling = ResultCeiling.of(self.limits, asked, statement)
        body, rows = _held(ceiling, result.bytes(), counted)
        if counted != fmt:
            if rows:
                body = reencoded(self._fresh_handle, body, fmt, asked)
            else:  # Native has no block for no rows; the format's header only
                body = handle.run(f"SELECT * FROM ({statement}) LIMIT 0", fmt,
                                  request.parameters).bytes()
        return Outcome(body, fmt, result, rows)

    @contextmanager
    def _counted(self, login: str, admission: Admission) -> Iterator[None]:
        """One query of `login`, within its quota and concurrent queries. A request the door
        runs again (bi views replaced meanwhile) once it was admitted is not another query of
        the quota, nor refused for one; its rows and time still count. One refused is refused
        again."""
        self._admit(login, admission)
        try:
            yield
        finally:
            with self._lock:
                self._running[login] -= 1

    def _admit(self, login: str, admission: Admission) -> None:
        now = time.monotonic()
        with self._lock:
            window = self._windows.get(login)
            if window is None or now - window.start >= self._quota.interval_seconds:
                window = self._windows[login] = _Window(start=now)
            if admission.admitted:
                self._running[login] = self._running.get(login, 0) + 1
                return
            for name, used, limit in (("queries", window.queries, self._quota.queries),
                                      ("read_rows", window.read_rows, self._quota.read_rows),
                                      ("execution_time", window.seconds,
                                       self._quota.execution_time)):
                if used >= limit:
                    raise ClickHouseError.make(
                        201, f"Quota for user `{login}` for {self._quota.interval_seconds}s "
                        f"has been exceeded: {name} = {used}/{limit}")
            if self._running.get(login, 0) >= self.limits.max_concurrent_queries:
                raise ClickHouseError.make(
                    202, f"Too many simultaneous queries for user {login}. Maximum: "
                    f"{self.limits.max_concurrent_queries}")
            window.queries += 1
            self._running[login] = self._running.get(login, 0) + 1
            admission.admitted = True

    def _charge(self, login: str, result: Any) -> None:
        with self._lock:
            window = self._windows[login]
            window.read_rows += result.rows_read()
            window.seconds += result.elapsed()


def _held(ceiling: ResultCeiling, body: bytes, fmt: str) -> tuple[bytes, int]:
    """The body within the login's result ceilings (cut in `break` mode where the format is
    one row per line, refused otherwise), and its row count."""
    try:
        if fmt in LINE_FORMATS:
            body = ceiling.hold_raw(body, fmt)
            return body, max(body.count(b"\n") - LINE_FORMATS[fmt], 0)
        if fmt == "Native":
            parsed = cast(QueryResult, NativeTransform.parse_response(
                RespBuffCls(_BytesSource(body)), QueryContext()))
            rows = len(parsed.result_rows)
            if len(ceiling.hold(parsed).result_rows) == rows:
                return body, rows
        else:  # JSON, JSONCompact: the format counts its rows
            rows = int(json.loads(body)["rows"]) if body else 0
            if rows <= ceiling.max_rows and len(body) <= ceiling.max_bytes:
                return body, rows
    except ResultCeilingError as e:
        raise ClickHouseError.of(e) from None
    raise ClickHouseError.make(396, f"Limit for result exceeded, max rows: {ceiling.max_rows}, "
                               f"max bytes: {ceiling.max_bytes} (in {fmt}, a result over the "
                               "ceiling is refused, not cut)")
