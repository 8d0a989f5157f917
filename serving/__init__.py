"""Serve: what tenants, analysts and BI tools reach — the access model, the report, the endpoint."""
