"""api_requests of one day: traffic follows tenant size and local working hours, with bursts.

Each service has its own endpoints and latency distribution; some tenant-hours have an
incident (elevated 5xx and slow responses), so error rates and p95s move like real ones.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from .common import ID_REQUEST, MS_PER_DAY, MS_PER_HOUR, SCHEMAS, STREAM_API, day_start_ms, make_ids
from .draws import rhythm_ms, rng_for, sample_cdf, take
from .tenants import Tenants

SERVICES = ["search", "export", "auth", "billing", "ingest"]
SERVICE_P = np.array([0.38, 0.08, 0.22, 0.07, 0.25])
LATENCY_MEDIAN_MS = np.array([70.0, 850.0, 28.0, 120.0, 180.0])
LATENCY_SIGMA = np.array([0.55, 0.85, 0.4, 0.5, 0.7])
# (service, endpoint, method, weight within the service)
ENDPOINTS = [
    (0, "/v1/search", "GET", 6), (0, "/v1/search/query", "POST", 3),
    (0, "/v1/search/suggest", "GET", 4),
    (1, "/v1/exports", "POST", 3), (1, "/v1/exports/{id}", "GET", 5),
    (1, "/v1/exports/{id}/download", "GET", 2),
    (2, "/v1/auth/token", "POST", 5), (2, "/v1/auth/refresh", "POST", 3),
    (2, "/v1/auth/me", "GET", 4),
    (3, "/v1/billing/usage", "GET", 5), (3, "/v1/billing/invoices", "GET", 3),
    (3, "/v1/billing/payment-methods", "POST", 1),
    (4, "/v1/ingest/events", "POST", 7), (4, "/v1/ingest/batch", "POST", 2),
    (4, "/v1/ingest/status", "GET", 1),
]  # fmt: skip
_EP_SERVICE = np.array([e[0] for e in ENDPOINTS])
_EP_POST = np.array([e[2] == "POST" for e in ENDPOINTS])
_MAXK = max(np.bincount(_EP_SERVICE))
_EP_CDF = np.ones((len(SERVICES), _MAXK))  # per service, padded with 1s
_EP_FIRST = np.searchsorted(_EP_SERVICE, np.arange(len(SERVICES)))
for _s in range(len(SERVICES)):
    _w = np.array([e[3] for e in ENDPOINTS if e[0] == _s], dtype=float)
    _EP_CDF[_s, : len(_w)] = np.cumsum(_w) / _w.sum()

STATUS_2XX, STATUS_4XX, STATUS_5XX = (
    [200, 201, 204],
    [400, 401, 403, 404, 409, 429],
    [500, 502, 503, 504],
)
_CDF_2XX = np.cumsum([0.9, 0.07, 0.03])
_CDF_4XX = np.cumsum([0.25, 0.2, 0.1, 0.3, 0.05, 0.1])
_CDF_5XX = np.cumsum([0.45, 0.25, 0.2, 0.1])
REQUESTS_PER_EVENT = 2.4  # the API carries a few calls behind every product action


def build_requests(
    tenants: Tenants, events_per_tenant: np.ndarray, day: dt.date, seed: int
) -> pa.Table:
    """All API requests of `day` (each once; duplicate deliveries are added when writing)."""
    rng = rng_for(seed, day, STREAM_API)
    day0 = day_start_ms(day)
    live = tenants.active(day)
    # Integrations keep calling even on quiet product days, so usage is not just events.
    expected = REQUESTS_PER_EVENT * events_per_tenant * rng.lognormal(0.0, 0.25, len(tenants))
    expected += 200.0 * tenants.weight * len(tenants) * (tenants.plan >= 2)
    counts = np.where(live, rng.poisson(expected), 0)
    tenant = np.repeat(np.arange(len(tenants)), counts)
    n = len(tenant)

    service_cdf = np.cumsum(rng.dirichlet(SERVICE_P * 40, len(tenants)), axis=1)
    service = sample_cdf(rng.random(n), service_cdf[tenant])
    endpoint = _EP_FIRST[service] + sample_cdf(rng.random(n), _EP_CDF[service])
    lo = np.maximum(tenants.created_ms[tenant], day0)
    ts = rhythm_ms(rng, tenants.hour_cdf, tenant, lo, day0)
    machine = (service == 4) & (rng.random(n) < 0.5)  # ingest jobs run round the clock
    span = day0 + MS_PER_DAY - lo[machine]
    ts[machine] = lo[machine] + (rng.random(machine.sum()) * span).astype(np.int64)
    hour = (ts - day0) // MS_PER_HOUR

    # Incidents: a few tenant-hours with many 5xx and slow responses.
    burst = rng.random((len(tenants), 24)) < 0.012
    severity = np.where(burst, rng.uniform(0.1, 0.45, (len(tenants), 24)), 0.0)
    sev = severity[tenant, hour]
    p5 = 0.004 + sev
    p4 = 0.03 + 0.02 * (service == 2)
    u = rng.random(n)
    klass = np.where(u < p5, 2, np.where(u < p5 + p4, 1, 0))
    status = np.empty(n, dtype=np.int32)
    for k, (codes, cdf) in enumerate(
        ((STATUS_2XX, _CDF_2XX), (STATUS_4XX, _CDF_4XX), (STATUS_5XX, _CDF_5XX))
    ):
        sel = klass == k
        status[sel] = np.array(codes)[sample_cdf(rng.random(sel.sum()), cdf)]
    status[(klass == 0) & ~_EP_POST[endpoint] & (status == 201)] = 200

    latency = LATENCY_MEDIAN_MS[service] * rng.lognormal(0.0, LATENCY_SIGMA[service])
    latency *= 1.0 + 4.0 * sev
    latency[klass == 1] *= 0.3  # rejected early
    latency[status == 504] = rng.uniform(29_000, 31_000, (status == 504).sum())
    post = _EP_POST[endpoint]
    req_bytes = np.where(
        post, rng.lognormal(np.log(1800), 1.0, n), rng.lognormal(np.log(350), 0.4, n)
    )
    req_bytes[service == 4] *= 25  # ingest payloads are large
    resp_median = np.array([6_000, 40_000, 900, 2_500, 300])[service].astype(float)
    resp_median[endpoint == 5] = 2_000_000  # export downloads
    resp_bytes = resp_median * rng.lognormal(0.0, 0.9, n)
    resp_bytes[klass > 0] = rng.integers(80, 400, (klass > 0).sum())

    order = np.argsort(ts, kind="stable")

    def pick(a: np.ndarray) -> np.ndarray:
        return a[order]

    cols = {
        "request_id": make_ids("req_", ID_REQUEST, day.toordinal(), np.arange(n), seed),
        "tenant_id": take(tenants.ids, pick(tenant)),
        "service": take(SERVICES, pick(service)),
        "endpoint": take([e[1] for e in ENDPOINTS], pick(endpoint)),
        "method": take([e[2] for e in ENDPOINTS], pick(endpoint)),
        "status_code": pa.array(pick(status), pa.int32()),
        "latency_ms": pa.array(np.round(pick(latency), 3), pa.float64()),
        "request_bytes": pa.array(pick(req_bytes).astype(np.int64), pa.int64()),
        "response_bytes": pa.array(pick(resp_bytes).astype(np.int64), pa.int64()),
        "ts": pa.array(pick(ts), type=SCHEMAS["api_requests"].field("ts").type),
    }
    return pa.table(cols, schema=SCHEMAS["api_requests"])
