"""The `saas-warehouse` command (CONTRACT.md §2): the top floor, above every other package."""
