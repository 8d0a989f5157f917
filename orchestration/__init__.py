"""Dagster definitions of saas-warehouse."""
