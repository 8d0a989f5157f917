"""Who may log in to `serve` (docs/contract.md §2): `admin`, `analyst` and `tenant_<id>` for
every tenant of the warehouse with a password. Passwords are compared in constant time and
never printed, logged or kept anywhere but here."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from serving.access.model import TENANT_ID, tenant_login
from serving.access.sessions import read_passwords

SERVE_PASSWORDS_ENV = "SAAS_WAREHOUSE_SERVE_PASSWORDS_FILE"
ADMIN, ANALYST = "admin", "analyst"


@dataclass(frozen=True)
class Login:
    name: str
    kind: str  # ADMIN, ANALYST or "tenant"
    tenant_id: str | None = None


@dataclass(frozen=True)
class Logins:
    _passwords: Mapping[str, str] = field(repr=False)
    _logins: Mapping[str, Login]

    @classmethod
    def load(cls, serve_passwords_file: str | None, tenant_passwords_file: str | None) -> Logins:
        """admin/analyst from `serve_passwords_file` (JSON {"admin": …, "analyst": …}),
        `tenant_<id>` for each tenant id with a password in `tenant_passwords_file`. Whether
        the id is a tenant of the warehouse is asked at each request (tenant_door.py): a
        tenant the loader adds while `serve` runs can log in at once."""
        passwords: dict[str, str] = {}
        logins: dict[str, Login] = {}
        for name, password in _serve_passwords(serve_passwords_file).items():
            passwords[name] = password
            logins[name] = Login(name, name)
        tenant_passwords = read_passwords(tenant_passwords_file)
        for tenant_id, password in tenant_passwords.items():
            # Other keys (`@impersonation`: the server's service login) are not tenants.
            if password and TENANT_ID.fullmatch(tenant_id):
                name = tenant_login(tenant_id)
                passwords[name] = password
                logins[name] = Login(name, "tenant", tenant_id)
        return cls(passwords, logins)

    def authenticate(self, user: str, password: str) -> Login | None:
        """The login, if `password` is its password. Unknown users cost the same comparison."""
        expected = self._passwords.get(user)
        matches = hmac.compare_digest((expected or "\0unknown").encode(), password.encode())
        return self._logins[user] if expected is not None and matches else None

    def names(self) -> list[str]:
        return list(self._logins)

    def tenant_ids(self) -> list[str]:
        return [login.tenant_id for login in self._logins.values() if login.tenant_id]


def _serve_passwords(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"${SERVE_PASSWORDS_ENV} {path}: {type(e).__name__}") from None
    if not isinstance(data, dict) or set(data) - {ADMIN, ANALYST} or not all(
        isinstance(v, str) and v for v in data.values()
    ):
        raise ValueError(f"${SERVE_PASSWORDS_ENV} {path}: expected a JSON object "
                         '{"admin": "<password>", "analyst": "<password>"} of non-empty strings')
    return data
