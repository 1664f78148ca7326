"""The failover family: test, planned and unplanned failover, commit, cancel, re-protect, failback.

:class:`FailoverService` runs each operation as a durable job with one task
per machine. The per-machine operations (``run_*``) are public too, so a
recovery plan can run them inside its own jobs.
"""

from provider.failover.cancel import run_cancel
from provider.failover.commit import run_commit
from provider.failover.drill import DiskCheck, DrillReport
from provider.failover.failback import run_failback
from provider.failover.handlers import JobKind
from provider.failover.options import FailoverOptions
from provider.failover.planned import run_planned
from provider.failover.points import PointChoice, PointSpec
from provider.failover.reverse import run_reverse
from provider.failover.service import FailoverService
from provider.failover.subject import QuietReporter, Reporter
from provider.failover.sync import SyncReport
from provider.failover.testfailover import run_cleanup, run_test_failover
from provider.failover.unplanned import run_unplanned

__all__ = [
    "DiskCheck",
    "DrillReport",
    "FailoverOptions",
    "FailoverService",
    "JobKind",
    "PointChoice",
    "PointSpec",
    "QuietReporter",
    "Reporter",
    "SyncReport",
    "run_cancel",
    "run_cleanup",
    "run_commit",
    "run_failback",
    "run_planned",
    "run_reverse",
    "run_test_failover",
    "run_unplanned",
]
