"""The pytest plugin of srp's conformance suite: entry point ``srp-conformance`` in ``pytest11``.

Installed with srp, pytest loads it automatically; with plugin autoloading
off, activate it with ``-p srp-conformance`` or ``pytest_plugins =
["provider.conformance.plugin"]`` in the root conftest. It provides:

* ``srp_conformance_clock``: the virtual clock the lab runs on (give it to
  your fake when it keeps time);
* ``srp_conformance_lab``: a fresh :class:`ConformanceLab` around the
  fabric of your ``srp_conformance_fabric`` fixture;
* the ``srp_conformance`` marker, on every test of the suite (``-m srp_conformance``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    # pytest loads this plugin in every session where srp is installed: the
    # lab (vault, engine, stores) is imported only when a suite test runs.
    from fakes.clock import VirtualClock
    from provider.conformance.fabric import ConformanceFabric
    from provider.conformance.lab import ConformanceLab


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "srp_conformance: a test of srp's conformance suite for fabric plugins"
    )


@pytest.fixture
def srp_conformance_fabric() -> ConformanceFabric:
    """Replaced by the plugin author's own fixture of the same name."""
    from provider.conformance.checks import fail

    fail(
        "the conformance suite needs a fixture named srp_conformance_fabric that returns "
        "a provider.conformance.ConformanceFabric for your plugin (see docs/plugin-guide.md)"
    )


@pytest.fixture
def srp_conformance_clock() -> VirtualClock:
    """The lab's virtual clock, started at the wall-clock time.

    It moves only when the suite advances it (30 s per cycle). Starting at
    the real time keeps it in step with a plugin that stamps its cuts with
    ``time.time()``, as a real one does; a fake that keeps time uses this clock.
    """
    import time

    from fakes.clock import VirtualClock

    return VirtualClock(start=time.time())


@pytest.fixture
def srp_conformance_lab(
    srp_conformance_fabric: ConformanceFabric,
    srp_conformance_clock: VirtualClock,
    tmp_path: Path,
) -> Iterator[ConformanceLab]:
    """A vault, engine, cloud target and failover service around the plugin under test."""
    from provider.conformance.lab import ConformanceLab

    root = tmp_path / "srp-conformance"
    with ConformanceLab(root, srp_conformance_fabric, srp_conformance_clock) as lab:
        yield lab
