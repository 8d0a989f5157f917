"""billing_line_items of one day, priced from that day's metered usage and seats.

Money is computed in Decimal so amount_usd is exactly round(quantity * unit_price, 6).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .api import SERVICES
from .common import SCHEMAS
from .model import Users
from .tenants import Tenants

SIX = Decimal("0.000001")
# Price per 1,000 calls by service, before the plan's discount.
PRICE_PER_1K_CALLS = {"search": "0.40", "export": "2.50", "auth": "0.05", "billing": "0.10",
                      "ingest": "0.80"}  # fmt: skip
PLAN_DISCOUNT = ["0", "1.00", "0.85", "0.60"]  # free is not billed
SEAT_PER_DAY = ["0", "0.333333", "1.000000", "2.166667"]
PRICE_PER_GB = {("ingest", "ingested_gb"): "0.120000", ("export", "egress_gb"): "0.090000"}


def _dec(x: Decimal) -> str:
    return f"{x.quantize(SIX, rounding=ROUND_HALF_EVEN):f}"


def _line_id(day: dt.date, tenant_id: str, service: str, metric: str) -> str:
    """Stable per (day, tenant, service, metric), so a re-export replaces rather than adds."""
    key = f"{day.isoformat()}|{tenant_id}|{service}|{metric}".encode()
    return "li_" + hashlib.sha256(key).hexdigest()[:20]


def build_line_items(tenants: Tenants, users: Users, requests: pa.Table, day: dt.date) -> pa.Table:
    """One line per (tenant, service, metric) with usage that day; free tenants pay nothing."""
    n_t, n_s = len(tenants), len(SERVICES)
    t_codes = pc.index_in(requests["tenant_id"], pa.array(tenants.ids)).to_numpy()
    s_codes = pc.index_in(requests["service"], pa.array(SERVICES)).to_numpy()
    key = t_codes * n_s + s_codes
    calls = np.bincount(key, minlength=n_t * n_s)
    req_b = np.bincount(key, weights=requests["request_bytes"].to_numpy(), minlength=n_t * n_s)
    resp_b = np.bincount(key, weights=requests["response_bytes"].to_numpy(), minlength=n_t * n_s)
    seats = np.bincount(users.tenant, minlength=n_t)  # everyone in that day's users snapshot

    rows: list[tuple[str, str, str, Decimal, Decimal]] = []
    live = tenants.active(day)
    for t in range(n_t):
        plan = int(tenants.plan[t])
        if not live[t] or plan == 0:
            continue
        tid = tenants.ids[t]
        discount = Decimal(PLAN_DISCOUNT[plan])
        for s, service in enumerate(SERVICES):
            n = int(calls[t * n_s + s])
            if n:
                price = (Decimal(PRICE_PER_1K_CALLS[service]) * discount / 1000).quantize(SIX)
                rows.append((tid, service, "api_calls", Decimal(n), price))
        for (service, metric), gb_price in PRICE_PER_GB.items():
            s = SERVICES.index(service)
            total = (req_b if metric == "ingested_gb" else resp_b)[t * n_s + s]
            gb = (Decimal(int(total)) / Decimal(10**9)).quantize(SIX)
            if gb > 0:
                rows.append((tid, service, metric, gb, Decimal(gb_price)))
        if seats[t]:
            rows.append((tid, "platform", "seats", Decimal(int(seats[t])),
                         Decimal(SEAT_PER_DAY[plan])))  # fmt: skip
    return pa.table(
        {
            "line_item_id": [_line_id(day, *r[:3]) for r in rows],
            "tenant_id": [r[0] for r in rows],
            "usage_date": pa.array([day] * len(rows), pa.date32()),
            "service": [r[1] for r in rows],
            "metric": [r[2] for r in rows],
            "quantity": [_dec(r[3]) for r in rows],
            "unit_price_usd": [_dec(r[4]) for r in rows],
            "amount_usd": [_dec(r[3] * r[4]) for r in rows],
            "currency": ["USD"] * len(rows),
        },
        schema=SCHEMAS["billing_line_items"],
    )
