"""`saas-warehouse report`: a static KPI page from the `bi` views, under BI isolation.

The numbers are read through `tenant_session` (a tenant's BI login) or `analyst_session`
(an internal analyst): exactly the isolation `saas-warehouse query --tenant` gets, never the
loader/admin connection. The page is one self-contained HTML file: inline CSS and SVG, no
scripts, nothing fetched from the network.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path

from saas_warehouse.contract import plans
from serving.access.sessions import ReadClient, analyst_session, tenant_session
from serving.report.data import ReportData, read_report_data
from serving.report.render import json_block, render

__all__ = ["ReportData", "build_report", "json_block", "write_report"]


def build_report(warehouse_url: str, tenant: str | None = None, plan: str | None = None,
                 session: AbstractContextManager[ReadClient] | None = None) -> str:
    """The report's HTML. With `tenant`, as that tenant's BI login (`session`, or one with the
    default limits); else as the analyst."""
    if plan is not None and plan not in plans():
        raise ValueError(f"unknown plan {plan!r}: expected one of {', '.join(plans())}")
    if session is None:
        session = (tenant_session(warehouse_url, tenant) if tenant is not None
                   else analyst_session(warehouse_url))
    with session as client:
        data = read_report_data(client, tenant, plan=plan)
    return render(data)


def write_report(warehouse_url: str, out: str | os.PathLike[str], tenant: str | None = None,
                 plan: str | None = None,
                 session: AbstractContextManager[ReadClient] | None = None) -> Path:
    """Renders and writes the report atomically; returns its path."""
    html = build_report(warehouse_url, tenant=tenant, plan=plan, session=session)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, path)
    return path
