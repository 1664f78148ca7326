"""The replication engine: cycles, the process-server pipeline, resync, health.

One module per concept (the disk digest both sides compute is
:mod:`provider.blockdigest`):

- ``cache``: the process server's bounded local cache of HRL files;
- ``pipeline``: changed extents from a cut -> one HRL file per disk;
- ``forwarder``: cached HRLs -> the target, in order, resumable, with retries;
- ``resync``: compare block digests and ship only the blocks that differ;
- ``health``: RPO and health from the policy's thresholds and missed cycles;
- ``cycle``: one replication cycle of a machine or a replication group.
"""
