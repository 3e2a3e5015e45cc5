"""WebAcl: an AWS WAF web ACL for the distribution, with AWS managed rule groups and a rate limit
per client IP (``webAcl: managed``).

A web ACL for CloudFront has scope ``CLOUDFRONT`` and is created in us-east-1 whatever the stack's
``aws:region`` (AWS WAF API reference, CreateWebACL, Scope: "To work with CloudFront, you must also
specify the Region US East (N. Virginia)"); the distribution takes its ARN as ``web_acl_id``
(CloudFront API reference, DistributionConfig.WebACLId). Rules run in priority order, lowest
first: the rate limit, so that a flood from one address is cut before anything else inspects it;
then the IP reputation list, known bad inputs and the core rule set ("Baseline rule groups", "IP
reputation rule groups"), each in its own actions (``override_action: none``). Requests no rule
blocks are allowed. Every rule and the web ACL publish CloudWatch metrics (``AWS/WAFV2``, dimension
``WebACL`` = the metric name, ``Rule``; no ``Region`` for CloudFront: AWS WAF developer guide,
"Monitoring with Amazon CloudWatch") and keep sampled requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from core.naming import resource_comment, waf_metric_name
from core.waf import (
    DEFAULT_WAF_RATE_LIMIT,
    WAF_MANAGED_RULE_GROUPS,
    WAF_RATE_WINDOW_SECONDS,
    WAF_REGION,
    WAF_SCOPE,
)

RATE_LIMIT_RULE = "rate-limit-per-ip"


def managed_rule_names() -> list[str]:
    """Each rule's name (and the suffix of its metric name), in priority order."""
    return [RATE_LIMIT_RULE, *WAF_MANAGED_RULE_GROUPS]


@dataclass(frozen=True)
class WebAclArgs:
    rate_limit: int = DEFAULT_WAF_RATE_LIMIT
    """Requests one client IP may make in 5 minutes before it is blocked, 10 to 2,000,000,000.
    Default ``DEFAULT_WAF_RATE_LIMIT``."""

    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the web ACL. Default none."""


class WebAcl(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    """The web ACL's ARN (``arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>``): what the
    distribution's ``web_acl_id`` takes."""

    metric_name: str
    """The web ACL's metric name: the ``WebACL`` dimension of its metrics."""

    rule_metric_names: list[str]
    """Each rule's metric name (its ``Rule`` dimension), in priority order."""

    def __init__(
        self, name: str, args: WebAclArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("geo-proximity:index:WebAcl", name, None, opts)
        project, stack = pulumi.get_project(), pulumi.get_stack()
        self.metric_name = waf_metric_name(project, stack)
        self.rule_metric_names = [
            waf_metric_name(project, stack, rule) for rule in managed_rule_names()
        ]
        # AWS WAF takes a description of at most 256 characters.
        description = resource_comment(
            project, stack, "AWS managed rule groups, a rate limit per client IP", limit=256
        )
        acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            aws.wafv2.WebAclArgs(
                region=WAF_REGION,
                scope=WAF_SCOPE,
                description=description,
                default_action=aws.wafv2.WebAclDefaultActionArgs(
                    allow=aws.wafv2.WebAclDefaultActionAllowArgs()
                ),
                rules=[
                    self._rate_limit_rule(args.rate_limit, self.rule_metric_names[0]),
                    *(
                        self._managed_rule(group, priority, metric)
                        for priority, (group, metric) in enumerate(
                            zip(WAF_MANAGED_RULE_GROUPS, self.rule_metric_names[1:], strict=True),
                            start=1,
                        )
                    ),
                ],
                visibility_config=self._visibility(self.metric_name),
                tags=dict(args.tags),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = acl.arn
        self.register_outputs(
            {
                "arn": self.arn,
                "metricName": self.metric_name,
                "ruleMetricNames": self.rule_metric_names,
            }
        )

    @staticmethod
    def _visibility(metric_name: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
        return aws.wafv2.WebAclVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
        )

    @staticmethod
    def _rule_visibility(metric_name: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
        return aws.wafv2.WebAclRuleVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
        )

    @classmethod
    def _rate_limit_rule(cls, limit: int, metric_name: str) -> aws.wafv2.WebAclRuleArgs:
        """Block a client IP that made more than ``limit`` requests in the last 5 minutes, until
        its rate falls below it ("Rate-based rule high-level settings in AWS WAF")."""
        return aws.wafv2.WebAclRuleArgs(
            name=RATE_LIMIT_RULE,
            priority=0,
            action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                    limit=limit,
                    aggregate_key_type="IP",
                    evaluation_window_sec=WAF_RATE_WINDOW_SECONDS,
                )
            ),
            visibility_config=cls._rule_visibility(metric_name),
        )

    @classmethod
    def _managed_rule(cls, group: str, priority: int, metric_name: str) -> aws.wafv2.WebAclRuleArgs:
        """An AWS managed rule group, its rules in their own actions."""
        return aws.wafv2.WebAclRuleArgs(
            name=group,
            priority=priority,
            override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()  # type: ignore[no-untyped-call]
            ),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                    vendor_name="AWS", name=group
                )
            ),
            visibility_config=cls._rule_visibility(metric_name),
        )
