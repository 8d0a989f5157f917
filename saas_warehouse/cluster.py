"""WAREHOUSE_CLUSTER (docs/contract.md §1, docs/production.md): the warehouse on one ClickHouse
server, or on every replica of a named cluster (one shard, N replicas).

On a cluster, every DDL of the project's own tables and databases runs `ON CLUSTER`, tables
use the Replicated engine of their family (ClickHouse Cloud turns those into SharedMergeTree),
and S3 reads use `s3Cluster`; access entities live in the servers' replicated user directory.
What ClickHouse replicates by itself — INSERT, `REPLACE PARTITION`, `DROP PARTITION`,
mutations — runs once, on the node the loader's session is on; a load's scratch tables are
node-local MergeTree on that node, so the swap never copies from a replica that has not caught
up (ClickHouse issue #73697).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Cluster:
    """`name` empty: one server (or the embedded engine), DDL as it is."""

    name: str = ""

    @classmethod
    def named(cls, name: str | None) -> Cluster:
        name = (name or "").strip()
        if name and not _NAME.fullmatch(name):
            raise ValueError(f"WAREHOUSE_CLUSTER {name!r}: not a cluster name "
                             "(letters, digits, _ . -; as in the server's remote_servers)")
        return cls(name)

    def __bool__(self) -> bool:
        return bool(self.name)

    @property
    def on(self) -> str:
        """` ON CLUSTER `name`` or nothing: goes after the name of what a DDL makes."""
        return f" ON CLUSTER `{self.name}`" if self.name else ""

    def engine(self, engine: str) -> str:
        """`MergeTree`, `ReplacingMergeTree(v)`, … as the cluster needs it: the Replicated
        engine of the family, its ZooKeeper path and replica name from the server's defaults
        (`default_replica_path` = /clickhouse/tables/{uuid}/{shard}, `{replica}`)."""
        return f"Replicated{engine}" if self.name else engine


SINGLE_SERVER = Cluster()
