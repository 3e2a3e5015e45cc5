"""A web ACL in front of the distribution (``webAcl``): where it lives, its rate rule and its rule
groups."""

# The value of webAcl that has the program create its own web ACL (the others: an ARN, or none).
WEB_ACL_MANAGED = "managed"
# A web ACL in front of the distribution (webAcl). A web ACL for CloudFront has scope CLOUDFRONT and
# lives in us-east-1 ("To work with CloudFront, you must also specify the Region US East (N.
# Virginia)", AWS WAF API reference, Scope), and its metrics are there too (AWS WAF developer
# guide, "Monitoring with Amazon CloudWatch": "For CloudFront, choose the US East (N. Virginia)
# Region"); CloudFront takes its ARN as the distribution's WebACLId (CloudFront API reference,
# DistributionConfig.WebACLId).
WAF_SCOPE = "CLOUDFRONT"
WAF_REGION = "us-east-1"
# The rate-based rule's limit, requests per client IP in its evaluation window (5 minutes, AWS
# WAF's default): "The lowest limit setting allowed is 10" (AWS WAF developer guide, "Rate-based
# rule high-level settings in AWS WAF"); at most 2,000,000,000 (AWS WAF API reference,
# RateBasedStatement, Limit: "Minimum value of 10. Maximum value of 2000000000").
WAF_RATE_LIMIT_RANGE = (10, 2_000_000_000)
WAF_RATE_WINDOW_SECONDS = 300
# 2,000 requests per 5 minutes is 6.7 a second from one address, sustained: far above what a person
# browsing a static site asks for (assets come from the edge cache, not one request each time), low
# enough to cut a single-address flood. Behind a large NAT many people share one address: raise it.
DEFAULT_WAF_RATE_LIMIT = 2000
# AWS managed rule groups of webAcl: managed, by their exact names ("Baseline rule groups": Core
# rule set, VendorName AWS, Name AWSManagedRulesCommonRuleSet, WCU 700; Known bad inputs,
# AWSManagedRulesKnownBadInputsRuleSet, WCU 200. "IP reputation rule groups": Amazon IP reputation
# list, AWSManagedRulesAmazonIpReputationList, WCU 25). None of them carries a fee of its own (only
# Bot Control, ATP and ACFP do: API reference, ManagedRuleGroupStatement). The three use 925 WCU;
# with the rate-based rule the web ACL stays well under 1,500, above which AWS WAF charges extra per
# request (AWS What's New, 2023-04-11, "AWS WAF increases web ACL capacity units limit").
WAF_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
)
