"""What the plugin serves: the ``dirfabric`` fabric kind and what it can do."""

from __future__ import annotations

from provider.contracts.declarations import Capabilities, FabricKind, FailoverMode

KIND = "dirfabric"

DIRFABRIC = FabricKind(
    kind=KIND,
    title="Directory of raw disk images (example KVM host)",
    capabilities=Capabilities(
        copy_frequencies=(30, 300, 900),
        # No guest agent to freeze file systems: crash-consistent points only.
        app_consistent=False,
        failover_modes=(
            FailoverMode.TEST,
            FailoverMode.PLANNED,
            FailoverMode.UNPLANNED,
            FailoverMode.FAILBACK,
        ),
        failback_to=(KIND,),
        reverse_replication=True,
    ),
)
