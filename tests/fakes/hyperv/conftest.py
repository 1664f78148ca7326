"""Fixtures for the fake Hyper-V tests: a two-host lab and PowerShell runners."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.hyperv import HyperVHost, HyperVLab
from tests.fakes.hyperv.hvfake_testkit import Runner


@pytest.fixture
def lab() -> Iterator[HyperVLab]:
    lab = HyperVLab(seed=11)
    for name in ("hv01", "hv02"):
        host = lab.add_host(name)
        host.add_switch("LAN")
    yield lab


@pytest.fixture
def hv01(lab: HyperVLab) -> HyperVHost:
    return lab.host("hv01")


@pytest.fixture
def hv02(lab: HyperVLab) -> HyperVHost:
    return lab.host("hv02")


@pytest.fixture
def ps(hv01: HyperVHost) -> Runner:
    return Runner(hv01)


@pytest.fixture
def ps2(hv02: HyperVHost) -> Runner:
    return Runner(hv02)
