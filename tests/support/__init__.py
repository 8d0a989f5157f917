"""What the tests share and are not tests themselves: the independent oracle of the `bi`
views (bi_oracle), small hand-built exports (small_exports), reading generated landing zones
(landing_frames) and warehouses (warehouse_reads), dbt on throwaway projects (dbt_cli), local
servers (servers), the sample and built warehouses' shapes (samples), headless Chromium
(browser). Fixtures stay in tests/conftest.py."""
