"""The one place that touches Pulumi's mock internals: a monitor that records every registration.

``pulumi.runtime.Mocks`` is shown a resource's type, name and inputs, but not its URN, parent or
dependencies, which the tests need to check parenting and ordering. ``MockMonitor`` sees the whole
gRPC request; this adapter keeps what it saw as plain ``Declared`` records. If a Pulumi release
changes these internals, this file is the only one to follow it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.rpc import deserialize_properties


@dataclass
class Declared:
    """One resource as the program declared it and as the mocks completed it."""

    type: str
    name: str
    id: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    # The Region the mocks placed it in (its region input, else aws:region); None for components.
    region: str | None
    dependencies: list[str]
    # The URNs or alias specifications the resource declares it was known by before.
    aliases: list[str]


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
                aliases=[*request.aliasURNs, *(_alias_text(alias) for alias in request.aliases)],
            )
        )
        return response


def _alias_text(alias: Any) -> str:
    """An alias as text: its URN, or the fields its specification changes (type, name, ...)."""
    if alias.urn:
        return str(alias.urn)
    spec = alias.spec
    return ",".join(
        f"{field.name}={value}" for field, value in spec.ListFields() if field.name != "parentUrn"
    )
