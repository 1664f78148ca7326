"""Durable jobs: every long operation, its tasks, progress, output and recovery."""

from provider.jobs.context import TaskContext
from provider.jobs.handlers import Handler, HandlerSpec
from provider.jobs.recovery import RecoveryReport
from provider.jobs.service import JobService
from provider.jobs.signals import WaitForOperator

__all__ = [
    "Handler",
    "HandlerSpec",
    "JobService",
    "RecoveryReport",
    "TaskContext",
    "WaitForOperator",
]
