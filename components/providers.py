"""Explicit AWS providers: one per Region the stack places resources in."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def regional_provider(name: str, region: str, parent: pulumi.Resource) -> aws.Provider:
    # An explicit provider does not read the stack's aws:* settings, so the ones that pick the
    # account are passed on; credentials otherwise come from the environment as usual.
    aws_config = pulumi.Config("aws")
    return aws.Provider(
        name,
        aws.ProviderArgs(
            region=region,
            profile=aws_config.get("profile"),
            allowed_account_ids=aws_config.get_object("allowedAccountIds"),
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
