"""Users of the simulated tenants: who signs up when, how they return, their funnel plan.

State evolves one UTC day at a time from the window's start, so a day depends only on the
days before it (generating 10 days gives the first 10 of a 30-day run).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from saas_warehouse.contract import roles

from .common import (
    ID_USER,
    MS_PER_DAY,
    MS_PER_HOUR,
    MS_PER_MIN,
    STREAM_SIGNUPS,
    day_start_ms,
    iso_ms,
    make_ids,
)
from .draws import rhythm_ms, rng_for, take
from .tenants import Tenants, weekday_factor

NEVER = np.iinfo(np.int64).max  # "no such moment": a funnel step that never happens

# Activity model (calibrated so a full-size day lands near `events_per_day`).
# Sessions of an active user: 1 + Poisson(EXTRA_SESSIONS * sqrt(intensity)), each a login,
# Poisson(FEATURES_PER_SESSION * intensity) feature_used and a logout with LOGOUT_P.
EXTRA_SESSIONS = 0.7
FEATURES_PER_SESSION = 8.0
LOGOUT_P = 0.85
RETURN_FLOOR = 0.5  # long-run share of an adopter's engagement that keeps them coming back
DRIFTER_FLOOR = 0.05  # the rest of new users mostly drift away after the first days
ADOPTER_SHARE = 0.6
USER_LIFETIME_DAYS = 150.0  # mean days until a user stops coming back for good


@dataclass
class Users:
    """Everyone who signed up so far (column arrays, index = user)."""

    tenant: np.ndarray
    signup_ms: np.ndarray
    signup_ord: np.ndarray  # day ordinal of signup
    end_ord: np.ndarray  # first day ordinal on which they never come back
    engagement: np.ndarray
    floor: np.ndarray  # long-run return level: adopters keep coming, drifters rarely do
    os: np.ndarray
    locale_slot: np.ndarray
    version_lag: np.ndarray
    onboard_ms: np.ndarray  # scheduled funnel steps (NEVER = does not happen)
    project_ms: np.ndarray
    invite_ms: np.ndarray
    user_id: pa.Array
    tables: list[pa.Table]  # users export rows in signup order, one chunk per day

    def __len__(self) -> int:
        return len(self.tenant)


_USER_FIELDS = ("tenant", "signup_ms", "signup_ord", "end_ord", "engagement", "floor", "os",
                "locale_slot", "version_lag", "onboard_ms", "project_ms", "invite_ms")  # fmt: skip


def _funnel(rng: np.random.Generator, signup_ms: np.ndarray, fresh: bool) -> list[np.ndarray]:
    """When each new user completes onboarding, creates a project and invites someone.

    Delays run from minutes to days: some steps cross midnight, a few land beyond 72h.
    """
    n = len(signup_ms)
    if not fresh:
        return [np.full(n, NEVER, dtype=np.int64) for _ in range(3)]
    onb = signup_ms + (rng.lognormal(np.log(12), 1.1, n) * MS_PER_MIN).astype(np.int64)
    slow = rng.random(n) < 0.12
    onb[slow] += rng.integers(1, 5 * 24, slow.sum()) * MS_PER_HOUR
    onb[rng.random(n) >= 0.72] = NEVER
    proj = onb + (rng.lognormal(np.log(3), 1.5, n) * MS_PER_HOUR).astype(np.int64)
    proj[(onb == NEVER) | (rng.random(n) >= 0.6)] = NEVER
    inv = proj + (rng.lognormal(np.log(10), 1.3, n) * MS_PER_HOUR).astype(np.int64)
    inv[(proj == NEVER) | (rng.random(n) >= 0.45)] = NEVER
    return [onb, proj, inv]


def _email_hashes(tenants: Tenants, tenant: np.ndarray, seq: np.ndarray, seed: int) -> list[str]:
    """sha256 of a fake work address; the only trace of a person the export carries."""
    domains = [f"{n.split(' ')[0].lower()}{i[4:8]}.example.com"
               for n, i in zip(tenants.names, tenants.ids, strict=True)]  # fmt: skip
    sha = hashlib.sha256
    return [
        sha(f"user{s}.{seed}@{domains[t]}".encode()).hexdigest()
        for t, s in zip(tenant.tolist(), seq.tolist(), strict=True)
    ]


def new_users(
    tenants: Tenants,
    users: Users | None,
    tenant: np.ndarray,
    signup_ms: np.ndarray,
    role: np.ndarray,
    rng: np.random.Generator,
    seed: int,
    lifetime_from_ord: np.ndarray,
    fresh: bool,
) -> Users:
    """`users` plus a batch of sign-ups (sorted by time), with their traits and funnel plan."""
    order = np.lexsort((tenant, signup_ms))
    tenant, signup_ms, role = tenant[order], signup_ms[order], role[order]
    lifetime_from_ord = lifetime_from_ord[order]
    n, base = len(tenant), 0 if users is None else len(users)
    seq = np.arange(base, base + n)
    signup_ord = signup_ms // MS_PER_DAY + dt.date(1970, 1, 1).toordinal()
    lifetime = rng.exponential(USER_LIFETIME_DAYS, n).astype(np.int64)
    cols = {
        "tenant": tenant,
        "signup_ms": signup_ms,
        "signup_ord": signup_ord,
        "end_ord": lifetime_from_ord + 1 + lifetime,
        "engagement": rng.beta(2.0, 2.0, n) if not fresh else rng.beta(2.0, 2.5, n),
        # Users still around at the start are the adopters; newcomers are a mix.
        "floor": np.where(
            (not fresh) | (rng.random(n) < ADOPTER_SHARE), RETURN_FLOOR, DRIFTER_FLOOR
        ),
        "os": rng.choice(6, n, p=[0.3, 0.28, 0.14, 0.12, 0.1, 0.06]),
        "locale_slot": rng.integers(0, 3, n),
        "version_lag": rng.geometric(0.55, n) - 1,
    }
    steps = _funnel(rng, signup_ms, fresh)
    cols.update(zip(("onboard_ms", "project_ms", "invite_ms"), steps, strict=True))
    ids = make_ids("u_", ID_USER, 0, seq, seed)
    table = pa.table(
        {
            "user_id": ids,
            "tenant_id": take(tenants.ids, tenant),
            "role": take(list(roles()), role),
            "signup_at": iso_ms(signup_ms),
            "email_sha256": pa.array(_email_hashes(tenants, tenant, seq, seed), pa.string()),
        }
    )
    if users is None:
        return Users(**cols, user_id=ids, tables=[table])
    merged = {f: np.concatenate([getattr(users, f), cols[f]]) for f in _USER_FIELDS}
    user_id = pa.concat_arrays([users.user_id, ids])
    return Users(**merged, user_id=user_id, tables=[*users.tables, table])


def _roles(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(4, n, p=[0.0, 0.08, 0.7, 0.22])


def intensity_boost(intensity: np.ndarray) -> np.ndarray:
    """Heavier-using tenants also have users who show up a little more often."""
    return np.minimum(intensity, 1.6) ** 0.3


def base_users_for(tenants: Tenants, start: dt.date, events_per_day: int) -> int:
    """The user base before the window that makes a working day carry ~events_per_day."""
    pre = (tenants.created_ms < day_start_ms(start)) & (tenants.inactive_from > start.toordinal())
    share = np.where(pre, tenants.weight, 0.0) / max(tenants.weight[pre].sum(), 1e-12)
    i = tenants.intensity
    per_active = (1 + EXTRA_SESSIONS * np.sqrt(i)) * (1 + FEATURES_PER_SESSION * i + LOGOUT_P)
    p_active = 0.5 * RETURN_FLOOR * intensity_boost(i)  # mean engagement of the user base
    per_user = float((share * p_active * per_active).sum())
    # Newcomers are busiest in their first days and add ~12% once sign-ups are under way.
    return max(1, round(events_per_day / 1.12 / max(per_user, 1e-9)))


def initial_users(tenants: Tenants, start: dt.date, seed: int, target_users: int) -> Users:
    """The user base of tenants that existed before the window (their sign-ups not exported)."""
    rng = rng_for(seed, None, STREAM_SIGNUPS)
    start_ms = day_start_ms(start)
    pre = np.flatnonzero(tenants.created_ms < start_ms)
    live = pre[tenants.inactive_from[pre] > start.toordinal()]
    w = tenants.weight / max(tenants.weight[live].sum(), 1e-12)
    counts = np.maximum(1, np.round(w[pre] * target_users * rng.lognormal(0, 0.1, len(pre))))
    tenant = np.repeat(pre, counts.astype(np.int64))
    lo = tenants.created_ms[tenant]
    signup = lo + (rng.random(len(tenant)) ** 0.7 * (start_ms - lo)).astype(np.int64)
    first = np.r_[True, tenant[1:] != tenant[:-1]]
    signup[first] = lo[first] + 5 * MS_PER_MIN  # the owner created the tenant
    role = np.where(first, 0, _roles(rng, len(tenant)))
    return new_users(tenants, None, tenant, signup, role, rng, seed,
                     np.full(len(tenant), start.toordinal()), fresh=False)  # fmt: skip


def sign_up(
    tenants: Tenants, users: Users, day: dt.date, seed: int, base_users: int
) -> tuple[Users, int]:
    """Adds the day's sign-ups; returns the new state and how many users existed before."""
    rng = rng_for(seed, day, STREAM_SIGNUPS)
    day0 = day_start_ms(day)
    active = tenants.active(day)
    w = tenants.weight * weekday_factor(day)
    rate = w * base_users / USER_LIFETIME_DAYS * 1.4
    age_days = (day0 - tenants.created_ms) / MS_PER_DAY
    ramp = age_days < 30  # a young tenant brings its team on board over its first month
    rate = np.where(ramp, rate + w * base_users * 0.6 / 30, rate)
    counts = np.where(active, rng.poisson(rate), 0)
    born = active & (tenants.created_ms >= day0)  # created today: the owner signs up first
    counts[born] = np.maximum(counts[born], 1)
    tenant = np.repeat(np.arange(len(tenants)), counts)
    lo = np.maximum(tenants.created_ms[tenant] + 2 * MS_PER_MIN, day0)
    signup = rhythm_ms(rng, tenants.hour_cdf, tenant, lo, day0)
    role = _roles(rng, len(tenant))
    for t in np.flatnonzero(born):  # the owner is the first of a new tenant's users
        sel = np.flatnonzero(tenant == t)
        signup[sel[0]] = tenants.created_ms[t] + 2 * MS_PER_MIN
        signup[sel[1:]] = np.maximum(signup[sel[1:]], signup[sel[0]] + MS_PER_MIN)
        role[sel[0]] = 0
    before = len(users)
    if len(tenant) == 0:
        return users, before
    return new_users(tenants, users, tenant, signup, role, rng, seed,
                     np.full(len(tenant), day.toordinal()), fresh=True), before  # fmt: skip


def active_probability(users: Users, tenants: Tenants, day: dt.date) -> np.ndarray:
    """Chance each user is active on `day`: decays with age, so retention curves look real."""
    age = day.toordinal() - users.signup_ord
    fade = np.exp(-np.maximum(age, 0) / 3.0)
    p = users.engagement * (users.floor + (1.0 - users.floor) * fade)
    p *= weekday_factor(day) * intensity_boost(tenants.intensity[users.tenant])
    p[(users.end_ord <= day.toordinal()) | ~tenants.active(day)[users.tenant]] = 0.0
    p[users.signup_ms >= day_start_ms(day) + MS_PER_DAY] = 0.0
    return np.minimum(p, 1.0)
