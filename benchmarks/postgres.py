"""A throwaway PostgreSQL cluster for the benchmarks, reached as a deployed server on the same machine reaches its
database: through the Unix socket (deploy/README.md's ZHIBU_DATABASE_URL), not TCP on loopback."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.pg import Cluster


@contextmanager
def postgres_cluster() -> Iterator[Cluster | None]:
    """A started tests.pg.Cluster, stopped afterwards; None (and a line saying so) without server binaries."""
    from tests.pg import Cluster, server_bin

    if server_bin() is None:
        print("   (no PostgreSQL server binaries: PostgreSQL run skipped)", flush=True)
        yield None
        return
    cluster = Cluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


def socket_database(cluster: Cluster, name: str) -> str:
    """A new database `name` on `cluster`, and its URL through the server's Unix socket."""
    cluster.create_db(name)
    return cluster.socket_url(name)
