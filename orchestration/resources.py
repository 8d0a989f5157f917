"""Resources: the warehouse (embedded chDB or a ClickHouse server) and the landing zone."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import boto3
import dagster as dg
from clickhouse_connect.driver.client import Client
from dagster_aws.s3 import S3Resource

from ingest_loaders.landing import Landing, landing_from_url
from saas_warehouse.cluster import Cluster
from saas_warehouse.settings import Settings
from saas_warehouse.urls import LandingUrl, WarehouseUrl
from saas_warehouse.warehouse import (
    LOCK_WAIT_SECONDS,
    ensure_databases,
    open_warehouse,
    warehouse_lock,
)


class WarehouseResource(dg.ConfigurableResource):
    """ClickHouse: `chdb:///path` (embedded engine) or `http(s)://user:pass@host:port`, and
    the server's cluster when DDL runs on every replica (WAREHOUSE_CLUSTER).

    A client is opened per step and closed at its end: the embedded engine may be open in
    one process at a time, and dbt runs in a process of its own.
    """

    url: str
    cluster: str = ""

    @property
    def topology(self) -> Cluster:
        """One server, or every replica of `cluster` (saas_warehouse/cluster.py)."""
        return Cluster.named(self.cluster)

    @property
    def warehouse(self) -> WarehouseUrl:
        """The URL parsed (Dagster hands the resource a string: an EnvVar's value)."""
        return WarehouseUrl.parse(self.url)

    @contextmanager
    def open(self, on_wait: Callable[[str], None] | None = None,
             wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[Client]:
        """A client for one step; on the embedded engine, once other processes let go (within
        `wait_seconds`)."""
        url = self.warehouse
        with (warehouse_lock(url, wait_seconds=wait_seconds, on_wait=on_wait),
              open_warehouse(url) as client):
            ensure_databases(client, self.topology)
            yield client

    @contextmanager
    def open_many(
        self, count: int, on_wait: Callable[[str], None] | None = None
    ) -> Iterator[list[Client]]:
        """`count` clients for one step's threads (the embedded engine takes many clients in
        the one process that holds it)."""
        with self.open(on_wait) as first, ExitStack() as more:
            url = self.warehouse
            yield [first, *(more.enter_context(open_warehouse(url)) for _ in range(count - 1))]

    def describe(self) -> str:
        return self.warehouse.redacted()


class LandingResource(dg.ConfigurableResource):
    """Where the daily exports land: `s3://bucket/prefix` or a local directory."""

    url: str
    s3: dg.ResourceDependency[S3Resource]

    def landing(self) -> Landing:
        url = LandingUrl.parse(self.url)
        if not url.is_s3:
            return landing_from_url(url)
        # The S3 resource lists the objects; ClickHouse reads them with the same credentials.
        session = boto3.session.Session(
            aws_access_key_id=self.s3.aws_access_key_id,
            aws_secret_access_key=self.s3.aws_secret_access_key,
            aws_session_token=self.s3.aws_session_token,
            profile_name=self.s3.profile_name,
        )
        return landing_from_url(url, s3_client=self.s3.get_client(), session=session)


def build_resources(settings: Settings) -> dict[str, object]:
    # The warehouse URL may carry a password: pass it as an EnvVar so Dagster never stores
    # or displays its value.
    warehouse_url = (dg.EnvVar("WAREHOUSE_URL") if settings.warehouse_url_from_env
                     else settings.warehouse_url)
    s3 = S3Resource()  # boto3's own settings: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, …
    return {
        "warehouse": WarehouseResource(url=warehouse_url, cluster=settings.warehouse_cluster),
        "landing": LandingResource(url=settings.landing_url, s3=s3),
        "s3": s3,
    }

