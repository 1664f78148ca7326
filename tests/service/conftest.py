"""Makes the service test kit importable as ``service_testkit`` and shares its fixtures.

The suite runs with ``--import-mode=importlib``, which does not put test
directories on ``sys.path``; the kit's name is unique to this folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from service_testkit import cli_env, lab, tls_lab  # noqa: E402

__all__ = ["cli_env", "lab", "tls_lab"]
