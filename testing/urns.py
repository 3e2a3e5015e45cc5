"""URNs as Pulumi's engine computes them, and the URNs of a stack deployed before that a program's
aliases let the engine match, so a test can show that a rename keeps every deployed resource.

A URN is ``urn:pulumi:<stack>::<project>::<qualified type>::<name>``, where a child's qualified
type is its parent's followed by ``$`` and its own type (the stack itself is left out): renaming a
component's type token changes the URN of the component and of every resource under it. The engine
matches a resource with a deployed one under its own URN or under any alias, and a child inherits
its parent's aliases: for every URN the parent may have had, the URN the child had under it (with a
child name that starts with the parent's name following a renamed parent, as Pulumi's
``inherited_child_alias`` does). The mocks' own URNs qualify a type with the parent's type only, not
its whole chain, so they are not used here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from testing.mock_monitor import Alias, Declared

STACK_TYPE = "pulumi:pulumi:Stack"


def make_urn(stack: str, project: str, parent_type: str, type_: str, name: str) -> str:
    """The URN of a resource named ``name`` of ``type_`` under a parent whose qualified type is
    ``parent_type`` (empty for the stack)."""
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def qualified_type(urn: str) -> str:
    return urn.split("::")[2]


def urn_name(urn: str) -> str:
    return urn.split("::", 3)[3]


def _stack_and_project(urn: str) -> tuple[str, str]:
    head, project = urn.split("::")[:2]
    return head.removeprefix("urn:pulumi:"), project


class Urns:
    """The engine's view of what a program declared under mocks."""

    def __init__(self, resources: Sequence[Declared]) -> None:
        self._by_urn = {resource.urn: resource for resource in resources}
        self._current: dict[str, str] = {}
        self._former: dict[str, frozenset[str]] = {}

    def _parent(self, resource: Declared) -> Declared | None:
        parent = self._by_urn.get(resource.parent)
        if (
            parent is None
            and resource.parent
            and not qualified_type(resource.parent).endswith(STACK_TYPE)
        ):
            raise ValueError(f"{resource.urn}: its parent {resource.parent} was not recorded")
        return parent

    def current(self, resource: Declared, renamed: Mapping[str, str] | None = None) -> str:
        """The resource's URN as the engine computes it; with ``renamed`` (type token now → type
        token before), the URN the same declaration had before those type tokens changed."""
        renamed = renamed or {}
        key = resource.urn
        if not renamed and key in self._current:
            return self._current[key]
        parent = self._parent(resource)
        parent_type = qualified_type(self.current(parent, renamed)) if parent else ""
        stack, project = _stack_and_project(resource.urn)
        urn = make_urn(
            stack, project, parent_type, renamed.get(resource.type, resource.type), resource.name
        )
        if not renamed:
            self._current[key] = urn
        return urn

    def former(self, resource: Declared) -> frozenset[str]:
        """Every URN under which the engine would take this resource to be one already deployed:
        its own, its aliases', and the ones it inherits from its parent's aliases."""
        if resource.urn in self._former:
            return self._former[resource.urn]
        parent = self._parent(resource)
        stack, project = _stack_and_project(resource.urn)
        parent_urns: Sequence[str | None] = sorted(self.former(parent)) if parent else [None]
        urns = {alias.urn for alias in resource.aliases if alias.urn}
        # The resource as declared, and as each alias specification describes it.
        forms = [Alias(), *(alias for alias in resource.aliases if not alias.urn)]
        for alias in forms:
            if alias.no_parent:
                parents: Sequence[str | None] = [None]
            elif alias.parent_urn:
                given = self._by_urn.get(alias.parent_urn)
                parents = [self.current(given) if given else alias.parent_urn]
            else:
                parents = parent_urns
            name = alias.name or resource.name
            for parent_urn in parents:
                if parent is not None and parent_urn is not None and name.startswith(parent.name):
                    # A child named after its parent follows the parent's former name.
                    name_then = urn_name(parent_urn) + name[len(parent.name) :]
                else:
                    name_then = name
                urns.add(
                    make_urn(
                        alias.stack or stack,
                        alias.project or project,
                        qualified_type(parent_urn) if parent_urn else "",
                        alias.type or resource.type,
                        name_then,
                    )
                )
        self._former[resource.urn] = frozenset(urns)
        return self._former[resource.urn]


def lost_in_place(resources: Sequence[Declared], renamed: Mapping[str, str]) -> list[str]:
    """The resources of a stack deployed before the type tokens in ``renamed`` (now → before)
    changed that no resource of this program would take over: each would be deleted and a new
    one created. Each is given by the URN it was deployed under."""
    urns = Urns(resources)
    return [
        before
        for resource in resources
        if (before := urns.current(resource, renamed)) not in urns.former(resource)
    ]
