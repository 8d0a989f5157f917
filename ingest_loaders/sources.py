"""The exports of CONTRACT.md §3 and the typed `raw` tables they load into."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FileFormat = Literal["parquet", "csv"]
DayCheck = Literal["timestamp", "date", "none"]

# Columns every raw table carries beside the export's own: where each row came from.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_partition_date", "Date"),
    ("_source_file", "LowCardinality(String)"),
    ("_source_row", "UInt64"),
    ("_load_id", "LowCardinality(String)"),
    ("_loaded_at", "DateTime('UTC')"),
)


@dataclass(frozen=True)
class Column:
    name: str
    ch_type: str  # the raw table's type
    required: bool = False  # null or empty means the row breaks the contract
    max_bytes: int | None = None  # a longer value rejects the row


@dataclass(frozen=True)
class Source:
    name: str
    file_format: FileFormat
    columns: tuple[Column, ...]
    order_by: tuple[str, ...]
    id_column: str | None  # the delivery id; duplicates are kept in raw, deduped in staging
    day_column: str | None  # must fall on the partition's day
    day_check: DayCheck
    description: str

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def table(self) -> str:
        return f"raw.{self.name}"


def _c(name: str, ch_type: str, required: bool = False, max_bytes: int | None = None) -> Column:
    return Column(name, ch_type, required, max_bytes)


TS = "DateTime64(3, 'UTC')"
MONEY = "Decimal(18, 6)"
# `properties` is a small JSON object (CONTRACT §3); a bigger value is a producer bug, and one
# such row must not bloat raw or the models: it is rejected with its size as the reason.
PROPERTIES_MAX_BYTES = 64 * 1024

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            name="product_events",
            file_format="parquet",
            columns=(
                _c("event_id", "String", True),
                _c("tenant_id", "LowCardinality(String)", True),
                _c("user_id", "String", True),
                _c("session_id", "String"),
                _c("event", "LowCardinality(String)", True),
                _c("ts", TS, True),
                _c("properties", "String", max_bytes=PROPERTIES_MAX_BYTES),
                _c("app_version", "LowCardinality(Nullable(String))"),
                _c("os", "LowCardinality(Nullable(String))"),
                _c("locale", "LowCardinality(Nullable(String))"),
                _c("event_version", "Int32"),
            ),
            order_by=("tenant_id", "ts", "user_id"),
            id_column="event_id",
            day_column="ts",
            day_check="timestamp",
            description="Product analytics events from the product service (Parquet).",
        ),
        Source(
            name="api_requests",
            file_format="parquet",
            columns=(
                _c("request_id", "String", True),
                _c("tenant_id", "LowCardinality(String)", True),
                _c("service", "LowCardinality(String)", True),
                _c("endpoint", "LowCardinality(String)"),
                _c("method", "LowCardinality(String)"),
                _c("status_code", "Int32", True),
                _c("latency_ms", "Float64", True),
                _c("request_bytes", "Int64"),
                _c("response_bytes", "Int64"),
                _c("ts", TS, True),
            ),
            order_by=("tenant_id", "ts"),
            id_column="request_id",
            day_column="ts",
            day_check="timestamp",
            description="API gateway request log (Parquet).",
        ),
        Source(
            name="billing_line_items",
            file_format="csv",
            columns=(
                _c("line_item_id", "String", True),
                _c("tenant_id", "LowCardinality(String)", True),
                _c("usage_date", "Date", True),
                _c("service", "LowCardinality(String)"),
                _c("metric", "LowCardinality(String)"),
                _c("quantity", MONEY),
                _c("unit_price_usd", MONEY),
                _c("amount_usd", MONEY, True),
                _c("currency", "LowCardinality(String)"),
            ),
            order_by=("tenant_id", "usage_date"),
            id_column="line_item_id",
            day_column="usage_date",
            day_check="date",
            description="Billing line items from the billing service (CSV).",
        ),
        Source(
            name="tenants",
            file_format="csv",
            columns=(
                _c("tenant_id", "String", True),
                _c("tenant_name", "String"),
                _c("plan", "LowCardinality(String)", True),
                _c("region", "LowCardinality(String)"),
                _c("created_at", TS),
                _c("is_active", "Bool"),
            ),
            order_by=("tenant_id",),
            id_column="tenant_id",
            day_column=None,
            day_check="none",
            description="Tenants: a full snapshot every day (CSV).",
        ),
        Source(
            name="users",
            file_format="csv",
            columns=(
                _c("user_id", "String", True),
                _c("tenant_id", "LowCardinality(String)", True),
                _c("role", "LowCardinality(String)"),
                _c("signup_at", TS),
                _c("email_sha256", "String"),
            ),
            order_by=("tenant_id", "user_id"),
            id_column="user_id",
            day_column=None,
            day_check="none",
            description="Users: a full snapshot every day (CSV); no raw PII.",
        ),
    )
}
