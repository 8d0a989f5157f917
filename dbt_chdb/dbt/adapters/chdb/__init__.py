"""dbt adapter plugin `chdb`: dbt-clickhouse on the embedded chDB engine (in-process, on disk).

It subclasses dbt-clickhouse and changes only how the client is created
(`clickhouse_connect.get_client(interface="chdb", path=…)`). The plugin depends on the
`clickhouse` plugin, so dbt's dispatch searches `chdb__`, then `clickhouse__`, then `default__`
macros and materializations: everything else is dbt-clickhouse's, unchanged.

Its `url` credential is WAREHOUSE_URL, parsed by the project's one parser
(saas_warehouse/urls.py): for an `http(s)://` server the plugin only fills dbt-clickhouse's
host, port, login and `secure` (from the scheme) and dbt-clickhouse's own HTTP client connects.

An on-disk chDB path can be open in one process at a time; all dbt threads share the process
and each opens its own connection. dbt closes them when the run ends (cleanup_connections).

Upstream dbt-clickhouse has an open PR adding `driver: chdb`; when it ships, this plugin can go.
"""

from dbt.adapters.base import AdapterPlugin
from dbt.adapters.chdb.connections import ChdbConnectionManager, ChdbCredentials
from dbt.adapters.clickhouse.impl import ClickHouseAdapter
from dbt.include import chdb


class ChdbAdapter(ClickHouseAdapter):
    ConnectionManager = ChdbConnectionManager


Plugin = AdapterPlugin(
    adapter=ChdbAdapter,
    credentials=ChdbCredentials,
    include_path=chdb.PACKAGE_PATH,
    dependencies=["clickhouse"],
)
