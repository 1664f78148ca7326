"""A host's Hyper-V Replica server settings (``Set-VMReplicationServer``) and its admission rules.

A primary can only enable replication to a host that is enabled as a
Replica server, accepts the primary's authentication type on the matching
port (Kerberos over HTTP 80, certificates over HTTPS 443) and authorizes the
primary (here: ``ReplicationAllowedFromAnyServer``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fakes.hyperv.enums import AuthenticationType
from fakes.hyperv.powershell.errors import VirtualizationError, vm_id_suffix

DEFAULT_STORAGE = "C:\\ReplicaStorage"
KERBEROS_PORT = 80
CERTIFICATE_PORT = 443


def connection_failed(server: str) -> VirtualizationError:
    """The text Hyper-V gives when the replica server does not answer (0x00002EFD)."""
    return VirtualizationError(
        f"Hyper-V could not connect to the specified Replica server '{server}'. Error: A "
        "connection with the server could not be established (0x00002EFD). Verify that the "
        "specified server is enabled as a Replica server, allows inbound connection on the "
        "specified port, and supports the same authentication scheme.",
        category="ConnectionError",
        error_id="OperationFailed",
        target=server,
    )


@dataclass
class ReplicationServerSettings:
    """What ``Get-VMReplicationServer`` shows for a host."""

    enabled: bool = False
    allowed_authentication: AuthenticationType = AuthenticationType.Kerberos
    allowed_from_any_server: bool = False
    storage_location: str = DEFAULT_STORAGE
    kerberos_port: int = KERBEROS_PORT
    certificate_port: int = CERTIFICATE_PORT
    certificate_thumbprint: str = ""

    def admit(
        self,
        *,
        server: str,
        vm_name: str,
        vm_id: str,
        authentication: AuthenticationType,
        port: int,
    ) -> None:
        """Check that a primary may replicate ``vm_name`` here; raise the real failure if not."""
        if not self.enabled or not self._port_matches(authentication, port):
            raise connection_failed(server)
        if not self._accepts(authentication):
            raise VirtualizationError(
                f"Hyper-V failed to enable replication for virtual machine '{vm_name}': The "
                f"Replica server '{server}' does not accept the authentication type "
                f"'{authentication.name}'. {vm_id_suffix(vm_id)}",
                category="AuthenticationError",
                error_id="OperationFailed",
                target=vm_name,
            )
        if not self.allowed_from_any_server:
            raise VirtualizationError(
                f"Hyper-V failed to enable replication for virtual machine '{vm_name}': The "
                f"Replica server '{server}' is not authorized to receive replication from "
                f"this primary server. {vm_id_suffix(vm_id)}",
                category="PermissionDenied",
                error_id="OperationFailed",
                target=vm_name,
            )

    def _port_matches(self, authentication: AuthenticationType, port: int) -> bool:
        if authentication is AuthenticationType.Certificate:
            return port == self.certificate_port
        return port == self.kerberos_port

    def _accepts(self, authentication: AuthenticationType) -> bool:
        both = AuthenticationType.CertificateAndKerberos
        return self.allowed_authentication in (authentication, both)
