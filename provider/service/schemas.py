"""Request bodies: strict pydantic models that refuse unknown fields and wrong types.

Bounds here only keep absurd input away from the store; the domain model
(policies, mappings, ids) still validates every value and names the rule.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=4096)]
Count = Annotated[int, Field(ge=0, le=1_000_000_000)]
Options = Annotated[dict[Name, Text], Field(max_length=64)]


class Body(BaseModel):
    """Every body: unknown fields and coercions refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class RegisterFabric(Body):
    kind: Annotated[str, Field(min_length=1, max_length=32)]
    address: Name
    username: Text = ""
    password: Text = ""
    credentials: Annotated[str, Field(min_length=1, max_length=65536)]
    name: Name | None = None
    options: Options = {}
    reregister: bool = False


class CreatePolicy(Body):
    name: Name
    family: Literal["hyperv", "continuous"] = "hyperv"
    copy_frequency_sec: Count = 300
    crash_consistent_frequency_min: Count = 5
    retention_hours: Count = 24
    app_consistent_frequency_hours: Count = 0
    compression: bool = True
    encryption: bool = True
    initial_replication_method: Literal["online", "offline"] = "online"
    rpo_warning_minutes: Count = 30
    rpo_critical_minutes: Count = 60


class AddTarget(Body):
    name: Name
    kind: Annotated[str, Field(min_length=1, max_length=32)] = "cloud"
    location: Text
    options: Options = {}
    #: The target's secret (an InMage CX passphrase); sealed in the vault, never shown.
    password: Text = ""


class Protect(Body):
    machines: Annotated[list[Name], Field(min_length=1, max_length=100)]
    fabric: Name | None = None
    policy: Name
    target: Name
    group: Annotated[str, Field(max_length=200)] = ""
    # Handed to a native target's plugin as they are (e.g. hyperv-replica's primary_address).
    options: Options = {}


class AddNetworkMapping(Body):
    fabric: Name
    source_network: Name
    target: Name
    target_network: Name
    ip_policy: Literal["keep", "assign", "static"] = "keep"
    static_subnet: Annotated[str, Field(max_length=64)] = ""


class AddStorageMapping(Body):
    fabric: Name
    source_storage: Name
    target: Name
    target_storage: Name


class ResumeJob(Body):
    retry: bool = False
    skip: bool = False
