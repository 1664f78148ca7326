"""Typed, frozen values that cross the hook boundary.

Each module holds one family's values: declarations, connections, replica
sync, HRL transfer, failover and events. Hooks never take or return a loose
dict: a plugin author sees every field, its type and its meaning here.
"""
