"""Dagster definitions of saas-warehouse."""

import warnings

import dagster as dg

# Single-run backfills (`backfill_policy`) are marked beta; they are what makes a 30-day
# backfill one run instead of thirty.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
