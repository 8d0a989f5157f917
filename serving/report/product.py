"""The report's product-analytics sections: user lifecycle, KPI alerts, weekly retention and
feature adoption (docs/contract.md §5)."""

from __future__ import annotations

from serving.report import formats, svg
from serving.report.data import ALERTS_SHOWN, RETENTION_WEEKS, ReportData
from serving.report.parts import Markup, section, table

FEATURES_CHARTED = 5  # the features whose 30-day adoption moved most over the period


def lifecycle_section(data: ReportData, days: list[str]) -> Markup:
    by_day = {r["date"]: r for r in data.lifecycle}

    def values(column: str) -> list[float]:
        return [by_day[d][column] if d in by_day else 0 for d in days]

    return section(
        "User lifecycle", "Each day's active users: new (first-ever day), returning (also "
        "active the day before) and resurrecting (back after at least a day away); below the "
        "line, dormant users: active the day before, not on the day.",
        svg.stacked_bars(days, {"new": values("new_users"),
                                "returning": values("returning_users"),
                                "resurrecting": values("resurrecting_users")},
                         {"dormant": values("dormant_users")},
                         label="new, returning, resurrecting and dormant users per day"))


def alerts_section(data: ReportData) -> Markup:
    if not data.alerts:
        return section("KPI alerts", "No alert rule fired in the period.")
    tenant_column = [] if data.tenant else ["tenant"]
    rows = [[a["date"], *([] if data.tenant else [a["tenant_id"]]), a["rule_id"], a["metric"],
             f"{a['value']:,.4g}", f"{a['baseline']:,.4g}", f"{a['change']:+.0%}"]
            for a in data.alerts]
    more = f" (the latest {ALERTS_SHOWN})" if len(data.alerts) == ALERTS_SHOWN else ""
    return section(
        "KPI alerts", Markup(f"Days on which a rule of <code>alert_rules</code> fired{more}: "
                             "the metric against its value a week earlier."),
        table(["date", *tenant_column, "rule", "metric", "value", "a week earlier", "change"],
              rows), wide=True)


def weekly_retention_section(data: ReportData) -> Markup:
    cohorts = sorted({r["cohort_week"] for r in data.weekly_retention})
    cells = {(r["cohort_week"], r["week_n"]): (r["retention_rate"], r["cohort_size"])
             for r in data.weekly_retention}
    body = (svg.heatmap(cohorts, RETENTION_WEEKS, cells, unit="week",
                        label="retention by weekly cohort and week") if cohorts else None)
    return section("Weekly retention", "Share of each weekly cohort (users first seen that "
                   "Monday–Sunday week; size in brackets) active in week n. Grey: not "
                   "reached yet.", body)


def feature_section(data: ReportData, days: list[str]) -> Markup:
    if not data.features:
        return section("Feature adoption", "No feature used yet.")
    rate = {(f["date"], f["feature"]): f["adoption_rate_30d"] for f in data.features}
    features = sorted({f["feature"] for f in data.features})
    first, last = days[0], days[-1]
    change = {f: rate.get((last, f), 0.0) - rate.get((first, f), 0.0) for f in features}
    charted = sorted(features, key=lambda f: (-abs(change[f]), f))[:FEATURES_CHARTED]
    new = {f: sum(r["new_adopters"] for r in data.features if r["feature"] == f)
           for f in features}
    rows = [[f, formats.fmt_int(new[f]), formats.fmt_pct(rate.get((first, f), 0.0)),
             formats.fmt_pct(rate.get((last, f), 0.0)), f"{change[f] * 100:+.1f} pts"]
            for f in sorted(features, key=lambda f: -change[f])]
    chart = svg.line_chart(days, {f: [rate.get((d, f)) for d in days] for f in charted},
                           fmt=formats.fmt_pct, width=1240, height=280,
                           label="30-day adoption of the features that moved")
    return section(
        "Feature adoption", "30-day adoption: users of the feature in the 30 days ending on "
        "the day, as a share of that day's MAU. The chart shows the features that grew or "
        "faded most.",
        chart + table(["feature", "new adopters", f"adoption {first}", f"adoption {last}",
                       "change"], rows), wide=True)
