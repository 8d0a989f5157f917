"""The `saas-warehouse` command (docs/contract.md §2): the top floor, above every other package."""
