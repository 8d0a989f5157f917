"""saas-warehouse: declarative ELT for multi-tenant SaaS analytics on ClickHouse."""
