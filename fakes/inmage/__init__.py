"""A simulated InMage Scout deployment served over the CX API (public API for testers).

* :class:`ScoutDeployment`: the configuration server's state: process
  servers (primary site), master targets (secondary site, retention window
  and space), source hosts with unified agents (``add_vcenter`` for a fake
  vCenter's VMs, ``add_physical`` for physical servers), protection plans,
  consistency tags (``issue_tag``), replication rounds (``replicate``),
  rollbacks and resyncs;
* test copies (``test_copies``) and failback: see :mod:`fakes.inmage.deployment`;
* fault switches: ``ps.go_away()`` / ``ps.come_back()``, ``deployment.faults.unavailable``
  (functions answered with HTTP 503),
  ``ps.faults.fail_after`` (go away mid-transfer), ``mt.retention_space``,
  ``deployment.faults.hostile_response`` (``"entity-expansion"``,
  ``"external-entity"``), ``agent.buffer_limit`` (bitmap mode);
* :class:`CxApi`: ``POST /ScoutAPI/CXAPI.php`` with ``ComponentAuth_V2015_01``
  signatures, served on 127.0.0.1 over HTTP or HTTPS by :func:`serve_cx`.

Example::

    cx = ScoutDeployment(passphrase="Scout-Passphrase-1", clock=clock)
    ps = cx.add_process_server("ps01")
    mt = cx.add_master_target("mt01")
    hosts = cx.add_vcenter(vcenter)
    with serve_cx(cx, tls=True) as server:
        ...  # the inmage plugin against server.address, verifying server.ca_cert
"""

from __future__ import annotations

from fakes.inmage.agent import SourceHost, Tag, UnifiedAgent
from fakes.inmage.api import CxApi
from fakes.inmage.auth import access_signature
from fakes.inmage.components import MasterTarget, ProcessServer
from fakes.inmage.deployment import CxError, ScoutDeployment
from fakes.inmage.server import CxServer, serve_cx

__all__ = [
    "CxApi",
    "CxError",
    "CxServer",
    "MasterTarget",
    "ProcessServer",
    "ScoutDeployment",
    "SourceHost",
    "Tag",
    "UnifiedAgent",
    "access_signature",
    "serve_cx",
]
