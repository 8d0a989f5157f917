"""`saas-warehouse serve`: the embedded warehouse behind ClickHouse's HTTP interface
(docs/contract.md §2, §6). One process owns the engine; every request gets its own handle."""
