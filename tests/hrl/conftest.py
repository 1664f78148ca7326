"""Makes the shared HRL test kit importable as ``hrl_testkit``.

The suite runs with ``--import-mode=importlib``, which does not put test
directories on ``sys.path``; the kit's name is unique to this folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
