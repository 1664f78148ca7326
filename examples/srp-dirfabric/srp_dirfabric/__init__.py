"""srp-dirfabric: an example fabric plugin for srp, in its own distribution.

A *dirfabric host* is a directory standing for a KVM host::

    host.json                          the host's name, session epoch and users
    machines/<machine id>/machine.json name, power state, networks, disks
    machines/<machine id>/<disk>.img   one raw disk image per disk

The plugin (:mod:`srp_dirfabric.plugin`, entry point ``dirfabric`` in the
``srp`` group) discovers the machines, tracks changes by comparing block
hashes with the last confirmed cut (:mod:`srp_dirfabric.tracking`), and
writes blocks back for reverse replication. :mod:`srp_dirfabric.fake` builds
such hosts for tests.
"""
