"""Tenant isolation for BI (docs/contract.md §6), enforced by ClickHouse itself.

One source of truth (`model.py`: tenant logins, the analysts' role, tenant-scoped views)
becomes idempotent DDL for a ClickHouse server (`server.py`) and users configs that the
embedded engine loads and enforces (`embedded.py`).
"""
