"""The CLI-as-client tests use the running-service fixtures of ``tests/service``.

The suite runs with ``--import-mode=importlib``: the kit's folder is put on
``sys.path`` here so ``service_testkit`` imports by name.
"""

from __future__ import annotations

import sys
from pathlib import Path

_KIT = str(Path(__file__).resolve().parent.parent / "service")
if _KIT not in sys.path:
    sys.path.insert(0, _KIT)

from service_testkit import cli_env, lab, tls_lab  # noqa: E402

__all__ = ["cli_env", "lab", "tls_lab"]
