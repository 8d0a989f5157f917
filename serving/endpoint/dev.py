"""`make dev`: the embedded warehouse behind `serve`, and the Dagster UI running through it.

So that a BI tool, a shell `dbt build`, `saas-warehouse query` and Dagster's runs reach the one
warehouse at the same time, exactly as they would a ClickHouse server. Passwords are made once
(random, files readable by their owner only, under DAGSTER_HOME) and never printed: the
banner names the files.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

from saas_warehouse.processes import stop_process
from saas_warehouse.settings import Settings
from serving.access.sessions import access_model
from serving.endpoint.logins import ADMIN, ANALYST, SERVE_PASSWORDS_ENV

HOST, PORT = "127.0.0.1", 8123
STARTUP_SECONDS = 60


def _password_file(path: Path, names: list[str]) -> dict[str, str]:
    """`path`'s passwords, with a new random one for each name it lacks (0600)."""
    passwords = json.loads(path.read_text()) if path.exists() else {}
    missing = [n for n in names if n not in passwords]
    if missing or not path.exists():
        passwords.update({n: secrets.token_urlsafe(18) for n in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(passwords, indent=2) + "\n")
    return passwords


def dev_logins(settings: Settings) -> tuple[Path, Path, str]:
    """The serve and tenant password files (made or completed), and the admin password."""
    home = Path(settings.dagster_home)
    serve_file = Path(os.environ.get(SERVE_PASSWORDS_ENV) or home / "serve-passwords.json")
    tenant_file = Path(settings.tenant_passwords_file or home / "tenant-passwords.json")
    tenants = sorted(access_model(settings.warehouse).tenants) if _warehouse_exists(settings) \
        else []
    admin = _password_file(serve_file, [ADMIN, ANALYST])[ADMIN]
    _password_file(tenant_file, tenants)
    return serve_file, tenant_file, admin


def _warehouse_exists(settings: Settings) -> bool:
    return Path(settings.warehouse.path).exists()


def _wait_for_ping(process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("saas-warehouse serve stopped while starting; see its message")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{PORT}/ping", timeout=1) as response:
                if response.read() == b"Ok.\n":
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"saas-warehouse serve did not answer on {HOST}:{PORT}")


def main() -> int:
    settings = Settings.from_env()
    if not settings.warehouse.embedded:
        raise SystemExit("make dev serves the embedded warehouse: WAREHOUSE_URL is a server "
                         "already; run `dagster dev -w workspace.yaml` against it instead")
    # SIGTERM ends this process through `finally`, which stops serve (and its engine) too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    serve_file, tenant_file, admin = dev_logins(settings)
    env = {**os.environ, SERVE_PASSWORDS_ENV: str(serve_file),
           "SAAS_WAREHOUSE_TENANT_PASSWORDS_FILE": str(tenant_file)}
    bin_dir = Path(sys.executable).parent
    serve = subprocess.Popen([str(bin_dir / "saas-warehouse"), "serve", "--host", HOST,
                              "--port", str(PORT)], env=env)
    try:
        _wait_for_ping(serve)
        print(f"logins: admin and analyst in {serve_file}, tenant_<id> in {tenant_file}\n"
              f"shell:  export WAREHOUSE_URL=http://admin:<password>@{HOST}:{PORT}",
              file=sys.stderr, flush=True)
        through_serve = f"http://{ADMIN}:{quote(admin, safe='')}@{HOST}:{PORT}"
        dagster = subprocess.run(
            [str(bin_dir / "dagster"), "dev", "-w", "workspace.yaml"],
            env={**env, "WAREHOUSE_URL": through_serve,
                 "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}, check=False)
        return dagster.returncode
    except KeyboardInterrupt:
        return 130
    finally:
        stop_process(serve, 60)


if __name__ == "__main__":
    sys.exit(main())
