"""How the plugin's ``requests`` sessions reach an endpoint: the network, or an adapter.

The connection option ``transport`` picks it: ``http`` or ``https`` (the
default: the scheme of the URL built from the address) go over the network;
any other name must have been registered with :func:`register_adapter`,
httpx-MockTransport style, so tests and labs can run the real client code
against an in-process fake::

    register_adapter("fake-vcenter", lambda connection: AppAdapter(VCenterApi(vc)))
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests
from requests.adapters import BaseAdapter

from provider.contracts.connection import FabricConnection
from provider.errors import ConfigurationError

AdapterFactory = Callable[[FabricConnection], BaseAdapter]
NETWORK = ("http", "https")

_ADAPTERS: dict[str, AdapterFactory] = {}
_LOCK = threading.Lock()


def register_adapter(name: str, factory: AdapterFactory) -> None:
    """Make ``transport=<name>`` serve requests through the adapter the factory makes."""
    if name in NETWORK:
        raise ConfigurationError(f"transport name {name!r} is reserved for the network")
    with _LOCK:
        _ADAPTERS[name] = factory


def unregister_adapter(name: str) -> None:
    """Forget a registered transport; unknown names are ignored."""
    with _LOCK:
        _ADAPTERS.pop(name, None)


def base_url(connection: FabricConnection, default_scheme: str = "https") -> str:
    """``scheme://address`` from the address (which may carry a scheme and a port)."""
    address = connection.address.rstrip("/")
    if "://" in address:
        return address
    transport = connection.option("transport", default_scheme)
    scheme = transport if transport in NETWORK else connection.option("scheme", default_scheme)
    return f"{scheme}://{address}"


def open_session(connection: FabricConnection, url: str) -> requests.Session:
    """A requests session for ``url``: TLS settings applied, or the registered adapter mounted."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment unless asked for
    proxy = connection.option("proxy")
    if proxy:
        session.proxies = {"http": proxy, "https": proxy}
    session.verify = _verify(connection)
    name = connection.option("transport", "")
    if name and name not in NETWORK:
        with _LOCK:
            factory = _ADAPTERS.get(name)
        if factory is None:
            raise ConfigurationError(
                f"fabric {connection.fabric_id!r}: unknown transport {name!r}",
                hint="use http or https, or register the transport first",
            )
        session.mount(url + "/", factory(connection))
    return session


def _verify(connection: FabricConnection) -> bool | str:
    if connection.option("cert_validation", "validate") == "ignore":
        return False
    return connection.option("ca_trust_path") or True
