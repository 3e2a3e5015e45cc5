"""The one place that touches Pulumi's mock internals: a monitor that records every registration.

``pulumi.runtime.Mocks`` is shown a resource's type, name and inputs, but not its URN, parent or
dependencies, which the tests need to check parenting and ordering. ``MockMonitor`` sees the whole
gRPC request; this adapter keeps what it saw as plain ``Declared`` records. If a Pulumi release
changes these internals, this file is the only one to follow it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.rpc import deserialize_properties


@dataclass(frozen=True)
class Alias:
    """One alias as the resource sent it: a whole URN, or a specification whose empty fields mean
    "as now" (Pulumi's ``Alias`` message: the engine fills in the resource's current name, type,
    stack, project and parent)."""

    urn: str = ""
    name: str = ""
    type: str = ""
    stack: str = ""
    project: str = ""
    parent_urn: str = ""
    no_parent: bool = False


@dataclass
class Declared:
    """One resource as the program declared it and as the mocks completed it."""

    type: str
    name: str
    id: str
    # The mocks' URN: it qualifies the type with the parent's own type only, not the parent's whole
    # type chain as the engine does (``testing.urns`` computes the engine's).
    urn: str
    parent: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    # The Region the mocks placed it in (its region input, else aws:region); None for components.
    region: str | None
    dependencies: list[str]
    # What the resource declares it was known by before: whole URNs or alias specifications.
    aliases: list[Alias]
    # The inputs whose change replaces it (``replace_on_changes``), as the engine is told.
    replace_on_changes: list[str]
    # Its custom time-outs (create, update, delete: Pulumi's duration strings, "" when unset).
    custom_timeouts: dict[str, str] = field(default_factory=dict)


def placed_in(inputs: Mapping[str, Any], home_region: str) -> str:
    """Where a regional resource lands: its ``region`` input, else the stack's aws:region."""
    return str(inputs.get("region") or home_region)


class RecordingMonitor(MockMonitor):
    """The mock monitor, also keeping what a plain Mocks object is not shown."""

    def __init__(self, mocks: pulumi.runtime.Mocks, home_region: str) -> None:
        super().__init__(mocks)
        self.home_region = home_region
        self.declared: list[Declared] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        state = dict(self.resources[response.urn].state)
        inputs = deserialize_properties(request.object)
        self.declared.append(
            Declared(
                type=request.type,
                name=request.name,
                id=response.id,
                urn=response.urn,
                parent=request.parent,
                inputs=inputs,
                outputs=state,
                region=placed_in(inputs, self.home_region) if request.custom else None,
                dependencies=list(request.dependencies),
                aliases=[
                    *(Alias(urn=urn) for urn in request.aliasURNs),
                    *(_alias(alias) for alias in request.aliases),
                ],
                replace_on_changes=list(request.replaceOnChanges),
                custom_timeouts={
                    "create": request.customTimeouts.create,
                    "update": request.customTimeouts.update,
                    "delete": request.customTimeouts.delete,
                },
            )
        )
        return response


def _alias(alias: Any) -> Alias:
    """An ``Alias`` message (a URN, or a specification) as a plain record."""
    if alias.urn:
        return Alias(urn=str(alias.urn))
    spec = alias.spec
    return Alias(
        name=spec.name,
        type=spec.type,
        stack=spec.stack,
        project=spec.project,
        parent_urn=spec.parentUrn,
        no_parent=spec.noParent,
    )
