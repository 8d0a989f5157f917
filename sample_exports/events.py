"""product_events of one day: sign-ups, funnel steps and sessions, built as column arrays."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from saas_warehouse.contract import plans

from .common import (
    ID_EVENT,
    ID_SESSION,
    MS_PER_DAY,
    SCHEMAS,
    STREAM_EVENTS,
    STREAM_OUTAGES,
    day_start_ms,
    make_ids,
)
from .draws import rhythm_ms, rng_for, sample_cdf, take
from .model import (
    EXTRA_SESSIONS,
    FEATURES_PER_SESSION,
    LOGOUT_P,
    NEVER,
    Users,
    active_probability,
)
from .tenants import Tenants

EVENTS = ["signup", "login", "onboarding_completed", "project_created", "feature_used",
          "invite_sent", "upgrade_clicked", "subscription_upgraded", "logout"]  # fmt: skip
(SIGNUP, LOGIN, ONBOARDED, PROJECT, FEATURE, INVITE, UPGRADE_CLICK, UPGRADED, LOGOUT) = range(9)

OS = ["ios", "android", "macos", "windows", "web", "linux"]
WEB = OS.index("web")
LOCALES = [
    ["en-US", "es-US", "en-US"], ["en-US", "es-MX", "en-CA"], ["en-GB", "en-IE", "fr-FR"],
    ["de-DE", "de-AT", "pl-PL"], ["en-SG", "id-ID", "en-AU"], ["ja-JP", "ko-KR", "ja-JP"],
]
ALL_LOCALES = [loc for group in LOCALES for loc in group]
FEATURES = ["dashboard", "search", "export", "import", "share", "comment", "report",
            "integrations", "api_keys", "settings"]  # fmt: skip
FEATURE_WEIGHTS = np.array([24, 20, 10, 6, 9, 11, 9, 5, 2, 4], float)
# Each feature's use waxes and wanes over eight weeks, out of phase with the others, so any
# month shows features whose adoption grows and others whose adoption fades.
FEATURE_CYCLE_DAYS = 56
# A few tenant-days are outages: most of the tenant's users stay away (DAU collapses).
OUTAGE_P, OUTAGE_ACTIVITY = 1 / 60, 0.15


def feature_cdf(day: dt.date) -> np.ndarray:
    phase = 2 * np.pi * np.arange(len(FEATURES)) / len(FEATURES)
    cycle = 1 + 0.8 * np.sin(2 * np.pi * day.toordinal() / FEATURE_CYCLE_DAYS + phase)
    weights = FEATURE_WEIGHTS * cycle
    return np.cumsum(weights) / weights.sum()


def _props(**kw: object) -> str:
    return json.dumps(kw, separators=(",", ":"))


class Vocabulary(NamedTuple):
    """Every properties string the generator can emit, by event; rows carry an index into
    `strings`: an event's choices start at `starts[event]`, `sizes[event]` of them."""

    strings: list[str]
    starts: np.ndarray
    sizes: np.ndarray


@cache
def vocabulary() -> Vocabulary:
    plan = plans()  # read from the seed on first use, not at import
    choices: dict[int, list[str]] = {
        SIGNUP: [_props(source=s) for s in ("organic", "invite", "ads", "partner")],
        LOGIN: [_props(method=m) for m in ("password", "sso", "google")],
        ONBOARDED: [_props(steps=5, skipped=False), _props(steps=3, skipped=True)],
        PROJECT: [_props(template=t) for t in ("blank", "kanban", "analytics", "crm")],
        FEATURE: [_props(feature=f) for f in FEATURES],
        INVITE: [_props(invitees=k) for k in range(1, 6)],
        UPGRADE_CLICK: [_props(placement=p) for p in ("banner", "settings", "limit_modal")],
        UPGRADED: [_props(from_plan=plan[p], to_plan=plan[p + 1]) for p in range(3)],
        LOGOUT: ["{}"],
    }
    sizes = np.array([len(choices[e]) for e in range(len(EVENTS))])
    return Vocabulary(strings=[s for e in range(len(EVENTS)) for s in choices[e]],
                      starts=np.cumsum([0, *sizes])[:-1], sizes=sizes)


RELEASES_SINCE = dt.date(2023, 1, 2).toordinal()


def _version_name(v: int) -> str:
    return f"{2 + v // 12}.{v % 12}.{v % 3}"


def _sessions(
    rng: np.random.Generator, tenants: Tenants, users: Users, who: np.ndarray, lo: np.ndarray,
    day0: int, features: np.ndarray,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Sessions of active users: login, several feature_used, maybe upgrade, usually logout.

    Returns per-event (user, session, ts, event, property choice); events that would run past
    midnight are cut off, as the export of this day ends there.
    """
    intensity = tenants.intensity[users.tenant[who]]
    n_sess = 1 + rng.poisson(EXTRA_SESSIONS * np.sqrt(intensity))
    s_user = np.repeat(who, n_sess)
    s_lo = np.repeat(lo, n_sess)
    first = np.r_[0, np.cumsum(n_sess)[:-1]]
    start = rhythm_ms(rng, tenants.hour_cdf, users.tenant[s_user], s_lo, day0)
    start[first] = np.where(lo > day0, lo + rng.integers(2_000, 60_000, len(who)), start[first])
    n_s = len(s_user)
    n_feat = rng.poisson(FEATURES_PER_SESSION * intensity[np.repeat(np.arange(len(who)), n_sess)])
    logout = rng.random(n_s) < LOGOUT_P
    length = 1 + n_feat + logout
    e_sess = np.repeat(np.arange(n_s), length)
    pos = np.arange(len(e_sess)) - np.repeat(np.cumsum(length) - length, length)
    event = np.full(len(e_sess), FEATURE, dtype=np.int64)
    event[pos == 0] = LOGIN
    event[logout[e_sess] & (pos == length[e_sess] - 1)] = LOGOUT
    plan = tenants.plan[users.tenant[s_user]]
    click = (rng.random(n_s) < 0.025) & (plan < 3) & (n_feat > 0)
    click_pos = 1 + (rng.random(n_s) * np.maximum(n_feat, 1)).astype(np.int64)
    clicked = click[e_sess] & (pos == click_pos[e_sess])
    event[clicked] = UPGRADE_CLICK
    gaps = rng.exponential(40_000.0, len(e_sess)).astype(np.int64)
    gaps[pos == 0] = 0
    cum = np.cumsum(gaps)
    ts = start[e_sess] + cum - np.repeat(cum[np.cumsum(length) - length], length)
    choice = np.zeros(len(e_sess), dtype=np.int64)
    feat = event == FEATURE
    choice[feat] = sample_cdf(rng.random(feat.sum()), features)
    other = ~feat & (event != LOGOUT)
    choice[other] = (rng.random(other.sum()) * vocabulary().sizes[event[other]]).astype(np.int64)
    # Some who click upgrade go on to subscribe within the hour or so.
    ci = np.flatnonzero(clicked)
    ci = ci[rng.random(len(ci)) < 0.3]
    up_ts = ts[ci] + (rng.lognormal(np.log(25), 0.9, len(ci)) * 60_000).astype(np.int64)
    up_sess = e_sess[ci]
    return (
        np.concatenate([s_user[e_sess], s_user[up_sess]]),
        np.concatenate([e_sess, up_sess]),
        np.concatenate([ts, up_ts]),
        np.concatenate([event, np.full(len(ci), UPGRADED)]),
        np.concatenate([choice, plan[up_sess]]),
        first,
    )


def build_events(
    tenants: Tenants, users: Users, day: dt.date, new_from: int, seed: int
) -> pa.Table:
    """All product events of `day` (each once; duplicate deliveries are added when writing)."""
    rng = rng_for(seed, day, STREAM_EVENTS)
    day0, day1 = day_start_ms(day), day_start_ms(day) + MS_PER_DAY
    p = active_probability(users, tenants, day)
    outage = rng_for(seed, day, STREAM_OUTAGES).random(len(tenants)) < OUTAGE_P
    p = np.where(outage[users.tenant], p * OUTAGE_ACTIVITY, p)
    fresh = np.arange(len(users)) >= new_from
    active = fresh | (rng.random(len(users)) < p)
    who = np.flatnonzero(active)
    lo = np.where(fresh[who], users.signup_ms[who], day0)
    u, sess, ts, ev, choice, first = _sessions(rng, tenants, users, who, lo, day0,
                                               feature_cdf(day))
    n_sessions = int(sess.max()) + 1 if len(sess) else 0

    parts_u, parts_s, parts_ts, parts_e, parts_c = [u], [sess], [ts], [ev], [choice]
    new_who = np.flatnonzero(fresh[who])  # positions in `who` of today's sign-ups
    parts_u.append(who[new_who])
    parts_s.append(first[new_who])
    parts_ts.append(users.signup_ms[who[new_who]])
    parts_e.append(np.full(len(new_who), SIGNUP))
    parts_c.append((rng.random(len(new_who)) * vocabulary().sizes[SIGNUP]).astype(np.int64))
    tenant_live = tenants.active(day)[users.tenant]
    for code, when in ((ONBOARDED, users.onboard_ms), (PROJECT, users.project_ms),
                       (INVITE, users.invite_ms)):  # fmt: skip
        due = np.flatnonzero((when >= day0) & (when < day1) & (when != NEVER) & tenant_live)
        parts_u.append(due)
        parts_s.append(n_sessions + np.arange(len(due)))  # a short visit of its own
        n_sessions += len(due)
        parts_ts.append(when[due])
        parts_e.append(np.full(len(due), code))
        parts_c.append((rng.random(len(due)) * vocabulary().sizes[code]).astype(np.int64))

    u, sess, ts = np.concatenate(parts_u), np.concatenate(parts_s), np.concatenate(parts_ts)
    ev, choice = np.concatenate(parts_e), np.concatenate(parts_c)
    keep = ts < day1
    # Sort by time; a sign-up sorts before anything else of its user at the same moment.
    order = np.lexsort((ev != SIGNUP, ts))
    order = order[keep[order]]
    u, sess, ts, ev, choice = u[order], sess[order], ts[order], ev[order], choice[order]
    n = len(u)

    version = (day.toordinal() - RELEASES_SINCE) // 14 - users.version_lag[u]  # biweekly
    uniq, vidx = np.unique(version, return_inverse=True)
    os_ = users.os[u]
    region = tenants.region[users.tenant[u]]
    seq = np.arange(n)
    cols = {
        "event_id": make_ids("ev_", ID_EVENT, day.toordinal(), seq, seed),
        "tenant_id": take(tenants.ids, users.tenant[u]),
        "user_id": users.user_id.take(pa.array(u)),
        "session_id": make_ids("s_", ID_SESSION, day.toordinal(), sess, seed),
        "event": take(EVENTS, ev),
        "ts": pa.array(ts, type=SCHEMAS["product_events"].field("ts").type),
        "properties": take(vocabulary().strings, vocabulary().starts[ev] + choice),
        "app_version": take(
            [_version_name(int(v)) for v in uniq], vidx, (os_ == WEB) | (rng.random(n) < 0.02)
        ),
        "os": take(OS, os_, rng.random(n) < 0.02),
        "locale": take(ALL_LOCALES, region * 3 + users.locale_slot[u], rng.random(n) < 0.03),
        "event_version": pa.array(np.where(users.version_lag[u] >= 2, 1, 2), pa.int32()),
    }
    return pa.table(cols, schema=SCHEMAS["product_events"])
