"""An independent reference implementation of the `bi` views (docs/contract.md §5).

Every view is recomputed here with pandas/numpy straight from the export files of a local
landing directory (docs/contract.md §3), without looking at the dbt models, so that the two can be
compared column by column. Each public function takes the landing root and the days that
have been loaded so far, and returns a DataFrame with exactly the view's columns, sorted by
its keys. Dates are `datetime.date` objects; counts are int64; rates/quantiles float64.

What "loaded" means: a (source, day) partition counts when `day` is in `days` and its
folder holds `_SUCCESS` (incomplete partitions are not loaded, docs/contract.md §3). Everything
"first-ever" is over those partitions only.

Choices made where docs/contract.md §5 is silent (each is repeated where it is implemented):

* Dedup: one row per `event_id` / `request_id` / `line_item_id` over all loaded partitions,
  keeping the first delivery (earliest partition, then file name, then row).
* Rows that break the export contract are dropped before anything is computed (the loader
  rejects them): a required field null/empty, or `ts` / `usage_date` not on the partition's
  day. Generated data contains none.
* A user is (tenant_id, user_id).
* kpi_tenant_daily.api_latency_p95_ms is NaN (SQL NULL) on a day without requests;
  api_error_rate is 0 then (docs/contract.md §5 says so). billed_usd is 0 on a day without lines.
* funnel_daily: window boundary inclusive (`ts <= step1_ts + window_hours`, as ClickHouse
  windowFunnel `timestamp <= first_timestamp + window`); same-timestamp steps count (events
  are ordered by (ts, step_index), as windowFunnel's sort of (timestamp, condition) pairs).
  Every step_index of the funnel gets a row for each existing cohort (users may be 0).
* retention_cohorts: the row for (cohort_date, day_n) appears iff cohort_date + day_n is a
  loaded product_events day (an exact match: a day not loaded yet inside the loaded range,
  i.e. a gap, has no row until it is loaded). Rows exist only for cohorts with size > 0.
* benchmarks_daily: "tenants that have a value that day" = tenants with a kpi_tenant_daily
  row that day; for dau every such tenant counts (dau may be 0 when the row exists only
  because of API or billing activity); for api_error_rate and api_latency_p95_ms only
  tenants with api_requests > 0 count (the 0 error rate of a tenant without requests is a
  convention, not a measurement, and its p95 is NULL). A tenant with no loaded tenants
  snapshot on or before the date has no plan and is left out. Inactive tenants count.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNNEL_DEFINITIONS = REPO_ROOT / "seeds" / "funnel_definitions.csv"

RETENTION_DAYS = (0, 1, 7, 14, 30)
BENCHMARK_METRICS = ("dau", "api_error_rate", "api_latency_p95_ms")
BENCHMARK_MIN_TENANTS = 5
# benchmarks_daily: does a tenant without API requests that day "have" an api_error_rate?
# docs/contract.md §5 defines api_error_rate as 0 when there are no requests, so every kpi row has
# a value and those zeros count (False, the literal reading, as the models do). True would
# read it as no value; raised in the issue notes for a decision on the contract.
ERROR_RATE_NEEDS_REQUESTS = False

KPI_COLUMNS = ["tenant_id", "date", "plan", "dau", "wau", "mau", "events", "new_users",
               "api_requests", "api_errors", "api_error_rate", "api_latency_p95_ms",
               "billed_usd"]
API_COLUMNS = ["tenant_id", "date", "service", "requests", "errors_5xx", "errors_4xx",
               "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "request_bytes",
               "response_bytes"]
FUNNEL_COLUMNS = ["tenant_id", "funnel_id", "cohort_date", "step_index", "step_event",
                  "users", "conversion_rate", "median_seconds_to_step"]
RETENTION_COLUMNS = ["tenant_id", "cohort_date", "day_n", "cohort_size", "retained_users",
                     "retention_rate"]
BENCHMARK_COLUMNS = ["date", "plan", "metric", "tenants", "p25", "p50", "p75"]
LIFECYCLE_COLUMNS = ["tenant_id", "date", "new_users", "returning_users", "resurrecting_users",
                     "dormant_users", "stickiness"]
FEATURE_COLUMNS = ["tenant_id", "date", "feature", "users", "new_adopters", "adopters_30d",
                   "mau", "adoption_rate_30d"]
RETENTION_WEEKS = (0, 1, 2, 3, 4, 8, 12)
WEEKLY_COLUMNS = ["tenant_id", "cohort_week", "week_n", "cohort_size", "retained_users",
                  "retention_rate"]
ALERT_COLUMNS = ["tenant_id", "date", "rule_id", "metric", "value", "baseline", "change"]
ALERT_RULES = REPO_ROOT / "seeds" / "alert_rules.csv"

# (id column, columns that must be present, day column checked against the partition day)
_SOURCES = {
    "product_events": ("event_id", ["event_id", "tenant_id", "user_id", "event", "ts"], "ts"),
    "api_requests": ("request_id",
                     ["request_id", "tenant_id", "service", "status_code", "latency_ms", "ts"],
                     "ts"),
    "billing_line_items": ("line_item_id",
                           ["line_item_id", "tenant_id", "usage_date", "amount_usd"],
                           "usage_date"),
    "tenants": (None, ["tenant_id"], None),
    "users": (None, ["tenant_id", "user_id"], None),
}
_PARQUET = {"product_events", "api_requests"}


# --------------------------------------------------------------------------- reading

def loaded_days(root: Path | str, source: str, days: Iterable[dt.date]) -> list[dt.date]:
    """The days among `days` whose partition of `source` is complete (`_SUCCESS`)."""
    root = Path(root)
    return sorted(d for d in set(days)
                  if (root / source / f"dt={d.isoformat()}" / "_SUCCESS").exists())


def _data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.name.endswith((".parquet", ".csv", ".csv.gz")))


# Set while `remembering()`: the views' oracles read the same partitions many times over
# (kpi_tenant_daily alone five times in a comparison of every view).
_remembered_frames: dict[tuple, pd.DataFrame] | None = None


@contextmanager
def remembering() -> Iterator[None]:
    """Within the block, each partition reading and kpi_tenant_daily is computed once (the
    landing must not change meanwhile)."""
    global _remembered_frames
    _remembered_frames = {}
    try:
        yield
    finally:
        _remembered_frames = None


def _remembered(key: tuple, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    if _remembered_frames is None:
        return compute()
    if key not in _remembered_frames:
        _remembered_frames[key] = compute()
    return _remembered_frames[key].copy()


def read_source(root: Path | str, source: str, days: Iterable[dt.date]) -> pd.DataFrame:
    """All rows of the loaded partitions of `source`, valid, deduplicated by the delivery id,
    with `_partition_date` (a date). Timestamps are tz-aware UTC; CSV columns are strings
    except `usage_date` (date) and `amount_usd` (float)."""
    root, days = Path(root), sorted(set(days))
    return _remembered(("read_source", root, source, tuple(days)),
                       lambda: _read_source(root, source, days))


def _read_source(root: Path, source: str, days: list[dt.date]) -> pd.DataFrame:
    id_column, required, day_column = _SOURCES[source]
    frames = []
    for day in loaded_days(root, source, days):
        for order, path in enumerate(_data_files(root / source / f"dt={day.isoformat()}")):
            if source in _PARQUET:
                frame = pq.read_table(path).to_pandas()
            else:
                frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            frame["_partition_date"] = day
            frame["_file_order"] = order
            frame["_row"] = np.arange(len(frame))
            frames.append(frame)
    if not frames:
        return _empty_source(source)
    df = pd.concat(frames, ignore_index=True)

    # Contract violations are not loaded (the loader rejects them).
    ok = np.ones(len(df), dtype=bool)
    for column in required:
        values = df[column]
        ok &= values.notna().to_numpy()
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            ok &= (values.astype("string").fillna("") != "").to_numpy()
    df = df[ok].copy()
    if "ts" in df.columns:
        df["ts"] = pd.to_datetime(df["ts"], utc=True)
        df["date"] = _to_date(df["ts"])
    if source == "billing_line_items":
        df["usage_date"] = pd.to_datetime(df["usage_date"], format="%Y-%m-%d").dt.date
        df["amount_usd"] = df["amount_usd"].astype(float)
    if day_column is not None:
        on_day = (df["date"] if day_column == "ts" else df[day_column]) == df["_partition_date"]
        df = df[on_day.to_numpy()]

    # Duplicated deliveries count once: keep the first (partition, file, row).
    df = df.sort_values(["_partition_date", "_file_order", "_row"], kind="stable")
    if id_column is not None:
        df = df.drop_duplicates(id_column, keep="first")
    return df.drop(columns=["_file_order", "_row"]).reset_index(drop=True)


def _empty_source(source: str) -> pd.DataFrame:
    columns = {
        "product_events": ["event_id", "tenant_id", "user_id", "event", "properties", "ts",
                           "date"],
        "api_requests": ["request_id", "tenant_id", "service", "status_code", "latency_ms",
                         "request_bytes", "response_bytes", "ts", "date"],
        "billing_line_items": ["line_item_id", "tenant_id", "usage_date", "amount_usd"],
        "tenants": ["tenant_id", "plan"],
        "users": ["tenant_id", "user_id"],
    }[source]
    df = pd.DataFrame({c: pd.Series([], dtype="str") for c in columns})
    if "ts" in df:
        df["ts"] = pd.Series([], dtype="datetime64[ms, UTC]")
    for c in ("status_code", "request_bytes", "response_bytes"):
        if c in df:
            df[c] = pd.Series([], dtype="int64")
    for c in ("latency_ms", "amount_usd"):
        if c in df:
            df[c] = pd.Series([], dtype="float64")
    df["_partition_date"] = pd.Series([], dtype=object)
    return df


def _to_date(ts: pd.Series) -> pd.Series:
    """UTC calendar day of a tz-aware timestamp column, as `datetime.date` objects."""
    return ts.dt.tz_convert("UTC").dt.date


def _p(q: float):
    """numpy's exact percentile with linear interpolation (docs/contract.md §5), as an aggregator
    (used for the small benchmark groups; `_quantiles` is the vectorized equivalent)."""
    def agg(values: pd.Series) -> float:
        return float(np.percentile(values.to_numpy(dtype=float), q))
    agg.__name__ = f"p{q:g}"
    return agg


def _quantiles(frame: pd.DataFrame, keys: list[str], column: str,
               named: dict[str, float]) -> pd.DataFrame:
    """Per group of `keys`: the percentiles `named` ({output column: q in 0..100}) of
    `column`, linear interpolation — the same definition as numpy.percentile's default
    (pandas' groupby quantile with interpolation="linear"; checked against numpy in the
    unit tests)."""
    if frame.empty:
        return pd.DataFrame({c: pd.Series([], dtype=frame[c].dtype) for c in keys}
                            | {c: pd.Series([], dtype=float) for c in named})
    qs = [q / 100 for q in named.values()]
    out = (frame.groupby(keys)[column].quantile(qs, interpolation="linear")
           .unstack(level=-1))
    out.columns = list(named)
    return out.reset_index()


def _finish(df: pd.DataFrame, columns: list[str], keys: list[str]) -> pd.DataFrame:
    return df[columns].sort_values(keys, kind="stable").reset_index(drop=True)


def _active_user_days(events: pd.DataFrame) -> pd.DataFrame:
    """Distinct (tenant_id, user_id, date) with at least one product event."""
    return events[["tenant_id", "user_id", "date"]].drop_duplicates()


def _first_days(events: pd.DataFrame) -> pd.DataFrame:
    """Per user (tenant_id, user_id), the date of their first-ever loaded product event."""
    return (events.groupby(["tenant_id", "user_id"], as_index=False)["date"].min()
            .rename(columns={"date": "first_date"}))


def _window_distinct(active: pd.DataFrame, width: int) -> pd.DataFrame:
    """Per (tenant_id, date): distinct users active in [date-(width-1), date].

    Each active user-day (u, a) contributes to the targets a, a+1, ..., a+width-1."""
    shifted = [active.assign(date=active["date"] + dt.timedelta(days=k)) for k in range(width)]
    expanded = pd.concat(shifted, ignore_index=True).drop_duplicates()
    return expanded.groupby(["tenant_id", "date"], as_index=False).size()


def _plan_as_of(frame: pd.DataFrame, root: Path | str, days: list[dt.date]) -> pd.Series:
    """Per row of `frame` (tenant_id, date): the plan of the latest loaded tenants snapshot on
    or before date that holds the tenant; '' when there is none."""
    if frame.empty:
        return pd.Series([], dtype=object)
    snapshots = read_source(root, "tenants", days)
    snapshots = (snapshots.drop_duplicates(["_partition_date", "tenant_id"])
                 [["tenant_id", "plan", "_partition_date"]])
    left = frame[["tenant_id", "date"]].assign(
        _row=np.arange(len(frame)), _d=pd.to_datetime(frame["date"]),
        tenant_id=frame["tenant_id"].astype("str"))
    right = snapshots.assign(_d=pd.to_datetime(snapshots["_partition_date"]),
                             tenant_id=snapshots["tenant_id"].astype("str"))
    merged = pd.merge_asof(left.sort_values("_d"), right.sort_values("_d")[
        ["tenant_id", "plan", "_d"]], on="_d", by="tenant_id", direction="backward")
    plans = merged.sort_values("_row")["plan"].fillna("")
    return pd.Series(plans.to_numpy(), index=frame.index, dtype=object)


# --------------------------------------------------------------------------- views

def kpi_tenant_daily(root: Path | str, days: Iterable[dt.date]) -> pd.DataFrame:
    """bi.kpi_tenant_daily: one row per (tenant_id, date) with a product event, an API
    request or a billing line that day."""
    root, days = Path(root), sorted(set(days))
    return _remembered(("kpi_tenant_daily", root, tuple(days)),
                       lambda: _kpi_tenant_daily(root, days))


def _kpi_tenant_daily(root: Path, days: list[dt.date]) -> pd.DataFrame:
    events = read_source(root, "product_events", days)
    requests = read_source(root, "api_requests", days)
    lines = read_source(root, "billing_line_items", days)
    keys = ["tenant_id", "date"]

    active = _active_user_days(events)
    dau = active.groupby(keys, as_index=False).size().rename(columns={"size": "dau"})
    wau = _window_distinct(active, 7).rename(columns={"size": "wau"})
    mau = _window_distinct(active, 30).rename(columns={"size": "mau"})
    n_events = events.groupby(keys, as_index=False).size().rename(columns={"size": "events"})
    new_users = (_first_days(events).groupby(["tenant_id", "first_date"], as_index=False)
                 .size().rename(columns={"first_date": "date", "size": "new_users"}))

    api = (requests.assign(is_error=requests["status_code"] >= 500)
           .groupby(keys).agg(api_requests=("request_id", "size"),
                              api_errors=("is_error", "sum"))
           .reset_index()
           .merge(_quantiles(requests, keys, "latency_ms", {"api_latency_p95_ms": 95}),
                  on=keys, how="left"))
    billed = (lines.rename(columns={"usage_date": "date"})
              .groupby(keys, as_index=False)["amount_usd"].sum()
              .rename(columns={"amount_usd": "billed_usd"}))

    # The rows: every (tenant, date) with any activity.
    rows = pd.concat([events[keys], requests[keys],
                      lines[["tenant_id", "usage_date"]].rename(columns={"usage_date": "date"})],
                     ignore_index=True).drop_duplicates()
    out = rows
    for part in (dau, wau, mau, n_events, new_users, api, billed):
        out = out.merge(part, on=keys, how="left")
    for column in ("dau", "wau", "mau", "events", "new_users", "api_requests", "api_errors"):
        out[column] = out[column].fillna(0).astype("int64")
    out["billed_usd"] = out["billed_usd"].fillna(0.0).astype(float)
    out["api_latency_p95_ms"] = out["api_latency_p95_ms"].astype(float)  # NaN: no requests
    out["api_error_rate"] = np.where(
        out["api_requests"] > 0,
        out["api_errors"] / out["api_requests"].where(out["api_requests"] > 0, 1),
        0.0)
    out["plan"] = _plan_as_of(out, root, days)
    return _finish(out, KPI_COLUMNS, keys)


def api_usage_daily(root: Path | str, days: Iterable[dt.date]) -> pd.DataFrame:
    """bi.api_usage_daily: per (tenant_id, date, service) with at least one request."""
    requests = read_source(root, "api_requests", list(days))
    keys = ["tenant_id", "date", "service"]
    status = requests["status_code"]
    out = (requests.assign(e5=status >= 500, e4=(status >= 400) & (status <= 499))
           .groupby(keys).agg(requests=("request_id", "size"),
                              errors_5xx=("e5", "sum"),
                              errors_4xx=("e4", "sum"),
                              request_bytes=("request_bytes", "sum"),
                              response_bytes=("response_bytes", "sum"))
           .reset_index()
           .merge(_quantiles(requests, keys, "latency_ms",
                             {"latency_p50_ms": 50, "latency_p95_ms": 95,
                              "latency_p99_ms": 99}),
                  on=keys, how="left"))
    for column in ("requests", "errors_5xx", "errors_4xx", "request_bytes", "response_bytes"):
        out[column] = out[column].astype("int64")
    for column in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
        out[column] = out[column].astype(float)
    return _finish(out, API_COLUMNS, keys)


def read_funnel_definitions(path: Path | str = FUNNEL_DEFINITIONS) -> pd.DataFrame:
    defs = pd.read_csv(path, dtype={"funnel_id": str, "event": str})
    defs["step_index"] = defs["step_index"].astype(int)
    defs["window_hours"] = defs["window_hours"].astype(float)
    return defs.sort_values(["funnel_id", "step_index"]).reset_index(drop=True)


def _epoch_ms(ts: pd.Series) -> pd.Series:
    return (ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)


def funnel_levels(events: pd.DataFrame, steps: list[str], window: pd.Timedelta) -> pd.DataFrame:
    """Per (tenant_id, user_id, cohort_date): the funnel level reached (1..len(steps)) and,
    for each step k, `seconds_k`: the shortest time from a step-1 event to step k over the
    chains that reached it (NaN when none did).

    Each step-1 event starts a chain at t0 (cohort_date = its UTC day). The chain advances
    greedily: step j is the earliest event of step j with ts >= the previous step's ts
    (same timestamp allowed) and ts <= t0 + window (inclusive). Greedy-earliest is optimal
    for a fixed start, and the user's level is the max over their step-1 events that day.
    Events of later loaded days count for steps 2..n. Times are compared in integer ms."""
    user = ["tenant_id", "user_id"]
    window_ms = int(window / pd.Timedelta(milliseconds=1))
    events = events.assign(t=_epoch_ms(events["ts"]).astype("int64"))
    chains = (events.loc[events["event"] == steps[0], user + ["t", "date"]]
              .rename(columns={"t": "t0", "date": "cohort_date"}).reset_index(drop=True))
    chains["t_prev"] = chains["t0"]
    chains["level"] = 1
    chains["seconds_1"] = 0.0
    for j in range(2, len(steps) + 1):
        chains[f"seconds_{j}"] = np.nan
    alive = chains.index.to_numpy()
    for j, step in enumerate(steps[1:], start=2):
        cand = (events.loc[events["event"] == step, user + ["t"]]
                .rename(columns={"t": "t_next"}).sort_values("t_next"))
        if len(alive) == 0 or cand.empty:
            break
        left = chains.loc[alive, user + ["t0", "t_prev"]].rename_axis("chain").reset_index()
        # Earliest step-j event at or after the previous step's time, same user.
        matched = pd.merge_asof(left.sort_values("t_prev"), cand, left_on="t_prev",
                                right_on="t_next", by=user, direction="forward",
                                allow_exact_matches=True)
        ok = matched["t_next"].notna() & (matched["t_next"] <= matched["t0"] + window_ms)
        alive = matched.loc[ok, "chain"].to_numpy()
        reached = matched.loc[ok, "t_next"].astype("int64").to_numpy()
        chains.loc[alive, "t_prev"] = reached
        chains.loc[alive, "level"] = j
        chains.loc[alive, f"seconds_{j}"] = (reached - chains.loc[alive, "t0"].to_numpy()) / 1000
    seconds = {f"seconds_{j}": "min" for j in range(1, len(steps) + 1)}  # min skips NaN
    return (chains.groupby(user + ["cohort_date"], as_index=False)
            .agg(level=("level", "max"), **{c: (c, how) for c, how in seconds.items()}))


def funnel_daily(root: Path | str, days: Iterable[dt.date],
                 funnel_definitions: pd.DataFrame | Path | str | None = None) -> pd.DataFrame:
    """bi.funnel_daily: per (tenant_id, funnel_id, cohort_date, step_index); one row for
    every step of the funnel for each cohort with at least one user (users may be 0)."""
    if funnel_definitions is None or isinstance(funnel_definitions, (str, Path)):
        funnel_definitions = read_funnel_definitions(funnel_definitions or FUNNEL_DEFINITIONS)
    events = read_source(root, "product_events", list(days))
    parts = []
    for funnel_id, definition in funnel_definitions.groupby("funnel_id", sort=True):
        definition = definition.sort_values("step_index")
        steps = definition["event"].tolist()
        window = pd.Timedelta(hours=float(definition["window_hours"].iloc[0]))
        levels = funnel_levels(events, steps, window)
        if levels.empty:
            continue
        for step_index, step_event in zip(definition["step_index"], steps, strict=True):
            reached = levels.assign(reached=levels["level"] >= step_index)
            counts = (reached.groupby(["tenant_id", "cohort_date"], as_index=False)["reached"]
                      .sum().rename(columns={"reached": "users"}))
            # The median (linear interpolation) of the times of the users who reached it.
            medians = (reached[reached["reached"]]
                       .groupby(["tenant_id", "cohort_date"], as_index=False)
                       [f"seconds_{step_index}"].median()
                       .rename(columns={f"seconds_{step_index}": "median_seconds_to_step"}))
            counts = counts.merge(medians, on=["tenant_id", "cohort_date"], how="left")
            counts["funnel_id"] = funnel_id
            counts["step_index"] = int(step_index)
            counts["step_event"] = step_event
            parts.append(counts)
    if not parts:
        return pd.DataFrame({c: [] for c in FUNNEL_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["users"] = out["users"].astype("int64")
    out["step_index"] = out["step_index"].astype("int64")
    first = (out[out["step_index"] == 1][["tenant_id", "funnel_id", "cohort_date", "users"]]
             .rename(columns={"users": "users_1"}))
    out = out.merge(first, on=["tenant_id", "funnel_id", "cohort_date"])
    out["conversion_rate"] = out["users"] / out["users_1"]
    out["median_seconds_to_step"] = out["median_seconds_to_step"].astype(float)
    return _finish(out, FUNNEL_COLUMNS, ["tenant_id", "funnel_id", "cohort_date", "step_index"])


def retention_cohorts(root: Path | str, days: Iterable[dt.date]) -> pd.DataFrame:
    """bi.retention_cohorts: per (tenant_id, cohort_date, day_n), day_n in 0, 1, 7, 14, 30,
    only where cohort_date + day_n is a loaded product_events day (exact; gaps have no row)."""
    days = list(days)
    events = read_source(root, "product_events", days)
    loaded = set(loaded_days(root, "product_events", days))
    user = ["tenant_id", "user_id"]
    first = _first_days(events)
    active = _active_user_days(events)
    sizes = (first.groupby(["tenant_id", "first_date"], as_index=False).size()
             .rename(columns={"first_date": "cohort_date", "size": "cohort_size"}))
    parts = []
    for n in RETENTION_DAYS:
        target = first.assign(target=first["first_date"] + dt.timedelta(days=n))
        target = target[target["target"].isin(loaded)]
        hit = target.merge(active, left_on=user + ["target"], right_on=user + ["date"],
                           how="left", indicator=True)
        hit["retained"] = hit["_merge"] == "both"
        retained = (hit.groupby(["tenant_id", "first_date"], as_index=False)["retained"].sum()
                    .rename(columns={"first_date": "cohort_date",
                                     "retained": "retained_users"}))
        retained["day_n"] = n
        parts.append(retained)
    out = pd.concat(parts, ignore_index=True).merge(sizes, on=["tenant_id", "cohort_date"])
    out["day_n"] = out["day_n"].astype("int64")
    out["cohort_size"] = out["cohort_size"].astype("int64")
    out["retained_users"] = out["retained_users"].astype("int64")
    out["retention_rate"] = out["retained_users"] / out["cohort_size"]
    return _finish(out, RETENTION_COLUMNS, ["tenant_id", "cohort_date", "day_n"])


def benchmarks_daily(root: Path | str, days: Iterable[dt.date]) -> pd.DataFrame:
    """bi.benchmarks_daily: per (date, plan, metric), quartiles of the tenants' daily values;
    groups with fewer than 5 tenants are not shown."""
    days = list(days)
    kpi = kpi_tenant_daily(root, days)
    with_plan = kpi[kpi["plan"] != ""]  # no snapshot yet: no plan, left out

    values = {
        "dau": with_plan[["date", "plan", "dau"]].rename(columns={"dau": "value"}),
        "api_error_rate": with_plan.loc[(with_plan["api_requests"] > 0)
                                        | (not ERROR_RATE_NEEDS_REQUESTS),
                                        ["date", "plan", "api_error_rate"]]
                                   .rename(columns={"api_error_rate": "value"}),
        "api_latency_p95_ms": with_plan.loc[with_plan["api_requests"] > 0,
                                            ["date", "plan", "api_latency_p95_ms"]]
                                       .rename(columns={"api_latency_p95_ms": "value"}),
    }
    parts = []
    for metric in BENCHMARK_METRICS:
        frame = values[metric].assign(value=lambda f: f["value"].astype(float))
        grouped = (frame.groupby(["date", "plan"])
                   .agg(tenants=("value", "size"), p25=("value", _p(25)),
                        p50=("value", _p(50)), p75=("value", _p(75)))
                   .reset_index())
        grouped["metric"] = metric
        parts.append(grouped)
    out = pd.concat(parts, ignore_index=True)
    out = out[out["tenants"] >= BENCHMARK_MIN_TENANTS].copy()
    out["tenants"] = out["tenants"].astype("int64")
    return _finish(out, BENCHMARK_COLUMNS, ["date", "plan", "metric"])



def user_lifecycle_daily(root: Path | str, days: Iterable[dt.date]) -> pd.DataFrame:
    """bi.user_lifecycle_daily: one row per kpi_tenant_daily row; each active user-day is new
    (first-ever day), returning (active the day before) or resurrecting (not active the day
    before, first seen earlier); dormant = active the day before, not on the day."""
    days = list(days)
    kpi = kpi_tenant_daily(root, days)
    events = read_source(root, "product_events", days)
    keys = ["tenant_id", "date"]
    user_day = ["tenant_id", "user_id", "date"]
    active = _active_user_days(events).merge(_first_days(events), on=["tenant_id", "user_id"])
    day_before = active[user_day].assign(date=active["date"] + dt.timedelta(days=1))
    marked = active.merge(day_before.assign(yesterday=True), on=user_day, how="left")
    marked["yesterday"] = marked["yesterday"].fillna(False).astype(bool)
    marked["kind"] = np.where(marked["first_date"] == marked["date"], "new",
                              np.where(marked["yesterday"], "returning", "resurrecting"))
    counts = (marked.groupby(keys + ["kind"]).size().unstack("kind", fill_value=0)
              .reindex(columns=["new", "returning", "resurrecting"], fill_value=0)
              .add_suffix("_users").reset_index())
    lapsed = day_before.merge(active[user_day], on=user_day, how="left", indicator=True)
    dormant = (lapsed[lapsed["_merge"] == "left_only"].groupby(keys, as_index=False).size()
               .rename(columns={"size": "dormant_users"}))
    out = kpi[keys + ["dau", "mau"]].merge(counts, on=keys, how="left").merge(
        dormant, on=keys, how="left")
    for column in ("new_users", "returning_users", "resurrecting_users", "dormant_users"):
        out[column] = out[column].fillna(0).astype("int64")
    out["stickiness"] = np.where(out["mau"] > 0, out["dau"] / out["mau"].where(out["mau"] > 0, 1),
                                 0.0)
    return _finish(out, LIFECYCLE_COLUMNS, keys)


def _feature_name(properties: object) -> str | None:
    """properties.feature when it is a JSON string; None for anything else."""
    if not isinstance(properties, str):
        return None
    try:
        value = json.loads(properties)
    except ValueError:
        return None
    feature = value.get("feature") if isinstance(value, dict) else None
    return feature if isinstance(feature, str) else None


def feature_adoption_daily(root: Path | str, days: Iterable[dt.date]) -> pd.DataFrame:
    """bi.feature_adoption_daily: per (tenant_id, date, feature) used by someone that day."""
    days = list(days)
    events = read_source(root, "product_events", days)
    uses = events[events["event"] == "feature_used"].copy()
    uses["feature"] = uses["properties"].map(_feature_name)
    uses = uses[uses["feature"].notna()][["tenant_id", "user_id", "feature", "date"]]
    uses = uses.drop_duplicates()
    if uses.empty:
        return pd.DataFrame({c: [] for c in FEATURE_COLUMNS})
    keys = ["tenant_id", "date", "feature"]
    users = uses.groupby(keys, as_index=False).size().rename(columns={"size": "users"})
    first = (uses.groupby(["tenant_id", "user_id", "feature"], as_index=False)["date"].min()
             .groupby(["tenant_id", "date", "feature"], as_index=False).size()
             .rename(columns={"size": "new_adopters"}))
    shifted = [uses.assign(date=uses["date"] + dt.timedelta(days=k)) for k in range(30)]
    rolling = (pd.concat(shifted, ignore_index=True).drop_duplicates()
               .groupby(keys, as_index=False).size().rename(columns={"size": "adopters_30d"}))
    mau = kpi_tenant_daily(root, days)[["tenant_id", "date", "mau"]]
    out = (users.merge(first, on=keys, how="left").merge(rolling, on=keys, how="left")
           .merge(mau, on=["tenant_id", "date"], how="left"))
    for column in ("users", "new_adopters", "adopters_30d", "mau"):
        out[column] = out[column].fillna(0).astype("int64")
    out["adoption_rate_30d"] = out["adopters_30d"] / out["mau"]
    return _finish(out, FEATURE_COLUMNS, keys)


def _monday(dates: pd.Series) -> pd.Series:
    return dates.map(lambda d: d - dt.timedelta(days=d.weekday()))


def retention_weekly(root: Path | str, days: Iterable[dt.date]) -> pd.DataFrame:
    """bi.retention_weekly: per (tenant_id, cohort_week, week_n) for week_n in 0, 1, 2, 3, 4,
    8, 12, once the Monday of the measured week is on or before the latest loaded day with
    product events."""
    events = read_source(root, "product_events", list(days))
    if events.empty:
        return pd.DataFrame({c: [] for c in WEEKLY_COLUMNS})
    user = ["tenant_id", "user_id"]
    latest = events["date"].max()
    first = _first_days(events)
    first["cohort_week"] = _monday(first["first_date"])
    active = _active_user_days(events)
    weeks = active.assign(week=_monday(active["date"]))[user + ["week"]].drop_duplicates()
    sizes = (first.groupby(["tenant_id", "cohort_week"], as_index=False).size()
             .rename(columns={"size": "cohort_size"}))
    parts = []
    for n in RETENTION_WEEKS:
        target = first.assign(week=first["cohort_week"] + dt.timedelta(days=7 * n))
        target = target[target["week"] <= latest]
        hit = target.merge(weeks, on=user + ["week"], how="left", indicator=True)
        hit["retained"] = hit["_merge"] == "both"
        retained = (hit.groupby(["tenant_id", "cohort_week"], as_index=False)["retained"].sum()
                    .rename(columns={"retained": "retained_users"}))
        retained["week_n"] = n
        parts.append(retained)
    out = pd.concat(parts, ignore_index=True).merge(sizes, on=["tenant_id", "cohort_week"])
    for column in ("week_n", "cohort_size", "retained_users"):
        out[column] = out[column].astype("int64")
    out["retention_rate"] = out["retained_users"] / out["cohort_size"]
    return _finish(out, WEEKLY_COLUMNS, ["tenant_id", "cohort_week", "week_n"])


def read_alert_rules(path: Path | str = ALERT_RULES) -> pd.DataFrame:
    rules = pd.read_csv(path, dtype={"rule_id": str, "metric": str, "kind": str})
    rules["threshold"] = rules["threshold"].astype(float)
    rules["min_baseline"] = rules["min_baseline"].astype(float)
    return rules


def kpi_alerts(root: Path | str, days: Iterable[dt.date],
               rules: pd.DataFrame | Path | str | None = None) -> pd.DataFrame:
    """bi.kpi_alerts: per (tenant_id, date, rule_id) that fires: the metric vs its value on
    date - 7 (baseline; 0 without a kpi row then, NaN/NULL when the row has none)."""
    if rules is None or isinstance(rules, (str, Path)):
        rules = read_alert_rules(rules or ALERT_RULES)
    kpi = kpi_tenant_daily(root, list(days))
    by_key = kpi.set_index(["tenant_id", "date"])
    parts = []
    for rule in rules.itertuples():
        value = kpi[rule.metric].astype(float)
        week_before = [(t, d - dt.timedelta(days=7)) for t, d in zip(kpi["tenant_id"],
                                                                     kpi["date"], strict=True)]
        baseline = pd.Series(
            [float(by_key.at[k, rule.metric]) if k in by_key.index else 0.0
             for k in week_before], index=kpi.index, dtype=float)
        if rule.kind == "drop_pct":
            moved = value < baseline * (1 - rule.threshold)
        else:
            moved = value > baseline * (1 + rule.threshold)
        fires = (baseline >= rule.min_baseline) & moved  # NaN compares False: never fires
        parts.append(pd.DataFrame({
            "tenant_id": kpi["tenant_id"][fires], "date": kpi["date"][fires],
            "rule_id": rule.rule_id, "metric": rule.metric,
            "value": value[fires], "baseline": baseline[fires],
        }))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        {c: [] for c in ALERT_COLUMNS})
    out["change"] = out["value"] / out["baseline"] - 1
    return _finish(out, ALERT_COLUMNS, ["tenant_id", "date", "rule_id"])


ALL_VIEWS = {
    "kpi_tenant_daily": (kpi_tenant_daily, ["tenant_id", "date"]),
    "api_usage_daily": (api_usage_daily, ["tenant_id", "date", "service"]),
    "funnel_daily": (funnel_daily, ["tenant_id", "funnel_id", "cohort_date", "step_index"]),
    "retention_cohorts": (retention_cohorts, ["tenant_id", "cohort_date", "day_n"]),
    "benchmarks_daily": (benchmarks_daily, ["date", "plan", "metric"]),
    "user_lifecycle_daily": (user_lifecycle_daily, ["tenant_id", "date"]),
    "feature_adoption_daily": (feature_adoption_daily, ["tenant_id", "date", "feature"]),
    "retention_weekly": (retention_weekly, ["tenant_id", "cohort_week", "week_n"]),
    "kpi_alerts": (kpi_alerts, ["tenant_id", "date", "rule_id"]),
}
