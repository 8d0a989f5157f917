"""What each login's request runs as. Every handle is the engine's `default` user (an
admin); what a login may do is decided here, on its handle, before its statement runs:
- admin: everything (the loader, dbt, migrations); `session_id` keeps a handle between
  requests, so its SETs, USE and temporary tables last as in a ClickHouse session;
- analyst: `readonly = 1`, every tenant, one SELECT (or SHOW/DESCRIBE/EXISTS) per call, no
  table functions or host-reading functions;
- tenant: tenant_door.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from saas_warehouse.warehouse import sql_string
from serving.access.guard import RefusedStatementError
from serving.endpoint.engine import Engine, Handle
from serving.endpoint.errors import ClickHouseError, refused
from serving.endpoint.logins import ADMIN, ANALYST, Login
from serving.endpoint.protocol import Request, trailing_format
from serving.endpoint.statements import check_no_host_access, split_format, translate_metadata
from serving.endpoint.tenant_door import Outcome, TenantDoor


def _identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _set(handle: Handle, settings: dict[str, str]) -> None:
    if settings:
        handle.run("SET " + ", ".join(f"{_identifier(k)} = {sql_string(v)}"
                                      for k, v in settings.items()))


@contextmanager
def _for_this_query(handle: Handle, settings: dict[str, str]) -> Iterator[None]:
    """URL settings hold for one query, also on a session's handle (restored after)."""
    if not settings:
        yield
        return
    names = ", ".join(sql_string(name) for name in settings)
    before = handle.rows(f"SELECT name, value, changed FROM system.settings WHERE name IN "
                         f"({names})")
    _set(handle, settings)
    try:
        yield
    finally:
        for name, value, changed in before:
            handle.run(f"SET {_identifier(name)} = "
                       + (sql_string(value) if changed else "DEFAULT"))


class Doors:
    def __init__(self, engine: Engine, tenant_door: TenantDoor):
        self.engine = engine
        self.tenant_door = tenant_door

    def run(self, login: Login, request: Request) -> Outcome:
        if login.kind == ADMIN:
            return self._admin(request)
        with self.engine.handle() as handle:
            if login.kind == ANALYST:
                return self._analyst(handle, login, request)
            return self.tenant_door.run(handle, login, request)

    def _admin(self, request: Request) -> Outcome:
        handle_of: Callable[[], AbstractContextManager[Handle]] = self.engine.handle
        in_session = bool(request.session_id) and not request.is_read_only_method
        if in_session:
            session_id = request.session_id or ""
            handle_of = lambda: self.engine.session(ADMIN, session_id)  # noqa: E731
        with handle_of() as handle:
            if request.is_read_only_method:  # as ClickHouse: GET reads (readonly = 2)
                handle.run("SET readonly = 2")
            if request.database:
                handle.run(f"USE {_identifier(request.database)}")
            if not in_session:  # a fresh handle is thrown away after this query
                _set(handle, request.settings)
            with _for_this_query(handle, request.settings if in_session else {}):
                result = handle.run(request.sql, request.default_format, request.parameters)
        # The tail only: an INSERT's body may be large and binary.
        tail = request.sql[-400:].decode("utf-8", "replace")
        fmt = trailing_format(tail) or request.default_format
        body = result.bytes()
        return Outcome(body, fmt, result, -1)

    def _analyst(self, handle: Handle, login: Login, request: Request) -> Outcome:
        if "readonly" in request.settings:
            raise ClickHouseError.make(164, "Cannot modify 'readonly' setting in readonly mode")
        database = request.database or "default"
        handle.run(f"USE {_identifier(database)}")
        _set(handle, request.settings)
        handle.run("SET readonly = 1")
        try:
            text = translate_metadata(request.statement_text(), database)
            statement, fmt = split_format(handle, text)
            check_no_host_access(handle, statement, request.parameters)
        except RefusedStatementError as e:
            raise refused(login.name, str(e)) from None
        fmt = fmt or request.default_format
        result = handle.run(statement, fmt, request.parameters)
        return Outcome(result.bytes(), fmt, result, -1)
