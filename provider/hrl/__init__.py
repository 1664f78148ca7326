"""HRL: srp's own versioned change-log format, one file per disk per cycle.

The byte layout is specified in ``docs/hrl-format.md``.
"""

from __future__ import annotations

from provider.hrl.chain import ChainState, chain_after, check_chain
from provider.hrl.header import ZERO_DIGEST, HrlHeader
from provider.hrl.layout import DEFAULT_FRAME_SIZE, FORMAT_VERSION
from provider.hrl.reader import HrlReader
from provider.hrl.values import Extent, HrlSummary
from provider.hrl.writer import HrlWriter

__all__ = [
    "DEFAULT_FRAME_SIZE",
    "FORMAT_VERSION",
    "ZERO_DIGEST",
    "ChainState",
    "Extent",
    "HrlHeader",
    "HrlReader",
    "HrlSummary",
    "HrlWriter",
    "chain_after",
    "check_chain",
]
