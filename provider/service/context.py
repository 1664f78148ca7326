"""Everything the service's routes, scheduler and job threads share, wired once.

:func:`open_service` opens the vault (it must be initialised), builds the
engine context, the job service with the service's handlers, the job worker
and the scheduler. :meth:`ServiceContext.start` recovers the jobs a previous
process left and starts the threads; :meth:`ServiceContext.stop` stops them,
letting the running cycle and job task finish (within a timeout).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from provider.contracts.events import JobStateChange
from provider.engine.context import EngineContext
from provider.engine.forwarder import RetryPolicy
from provider.jobs.service import JobService
from provider.plans import PlanRunner
from provider.pluginmanager import PluginManager, load_default
from provider.service.gate import ItemGate
from provider.service.jobs import register_handlers
from provider.service.scheduler import DEFAULT_INTERVAL, Scheduler
from provider.service.worker import JobWorker, StateChanges
from provider.settings import Settings
from provider.store.vaultstore import VaultStore
from provider.vault.setup import Vault, open_vault
from provider.vault.tokens import ApiTokens

log = logging.getLogger("srp.service")

#: The process server's local state (HRL cache, digest tables) under SRP_HOME.
STATE_DIR = "process-server"


@dataclass(frozen=True)
class ServiceOptions:
    """How the service runs; tests turn the scheduler thread off and tick by hand."""

    scheduler_interval: float | None = DEFAULT_INTERVAL
    job_threads: int = 2
    stop_timeout: float = 30.0
    service_url: str = ""
    #: How the data path retries a slow or absent target (tests make it quick).
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class ServiceContext:
    """The service's shared state."""

    settings: Settings
    store: VaultStore
    vault: Vault
    plugins: PluginManager
    engine: EngineContext
    jobs: JobService
    tokens: ApiTokens
    gate: ItemGate
    worker: JobWorker
    changes: StateChanges
    scheduler: Scheduler
    clock: Callable[[], float]
    options: ServiceOptions

    def start(self) -> None:
        """Settle the jobs a previous process left, then start the worker and scheduler."""
        report = self.jobs.recover()
        self.worker.start()
        for job_id in report.requeued:
            self.worker.run_later(job_id)
        if report.requeued or report.failed:
            log.warning(
                "jobs recovered: %d requeued, %d failed", len(report.requeued), len(report.failed)
            )
        if self.options.scheduler_interval is not None:
            self.scheduler.start()

    def stop(self) -> None:
        """Stop the scheduler, let running job tasks finish (or be requeued next start)."""
        timeout = self.options.stop_timeout
        if not self.scheduler.stop(timeout):
            log.warning("the scheduler's cycle did not end in %.0f s", timeout)
        if not self.worker.stop(timeout):
            log.warning("a job was still running after %.0f s; it resumes at next start", timeout)
        self.store.close()


def open_service(
    settings: Settings,
    *,
    plugins: PluginManager | None = None,
    clock: Callable[[], float] = time.time,
    options: ServiceOptions | None = None,
) -> ServiceContext:
    """Open the vault and wire the service around it (nothing runs until ``start``)."""
    options = options or ServiceOptions()
    store = VaultStore.open(settings)
    try:
        vault = open_vault(store, settings.home)
    except BaseException:
        store.close()
        raise
    manager = plugins if plugins is not None else load_default()
    engine = EngineContext(
        store,
        manager,
        vault,
        Path(settings.home) / STATE_DIR,
        clock=clock,
        retry=options.retry,
    )
    changes = StateChanges()

    def on_state(event: JobStateChange) -> None:
        changes.record(event)
        manager.job_state_changed(event)

    jobs = JobService(store, on_progress=manager.job_progress, on_state=on_state, clock=clock)
    gate = ItemGate()
    register_handlers(jobs, engine, gate)
    # Plan job kinds must be known before recover() so a restart requeues them.
    PlanRunner.attached(engine, jobs)
    interval = options.scheduler_interval or DEFAULT_INTERVAL
    service = ServiceContext(
        settings=settings,
        store=store,
        vault=vault,
        plugins=manager,
        engine=engine,
        jobs=jobs,
        tokens=ApiTokens(store, clock),
        gate=gate,
        worker=JobWorker(jobs, threads=options.job_threads),
        changes=changes,
        scheduler=Scheduler(engine, gate, interval=interval),
        clock=clock,
        options=options,
    )
    # Failover job kinds, like plan kinds, must be known before recover().
    # Imported here: the router module itself imports ServiceContext.
    from provider.service.routers.failover import install_handlers

    install_handlers(service)
    return service
