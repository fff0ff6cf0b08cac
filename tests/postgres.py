"""The tests' private PostgreSQL cluster: ``auditor/profile/cluster.py`` (shared with ``audit profile --demo``)."""

from auditor.profile.cluster import PostgresCluster, PostgresUnavailable, find_bindir, free_port

__all__ = ["PostgresCluster", "PostgresUnavailable", "find_bindir", "free_port"]
