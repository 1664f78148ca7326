"""Replication targets built into srp (each registered through the ``srp`` entry points)."""
