"""Keeping deployed stacks' resources when a component's type token changes."""

from __future__ import annotations

import pulumi


def known_before_as(
    previous_type: str, opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """``opts`` plus an alias of the component's previous type token (when it moved to
    ``geo-proximity:index``, or took a name that says its engine): a stack deployed then keeps the
    component and, through it, every child (Pulumi derives the children's old URNs from the
    parent's alias) instead of replacing them."""
    return pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=previous_type)])
    )
