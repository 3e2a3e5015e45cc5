import fcntl
import functools
import pickle
from pathlib import Path

import pytest

from routing.catalogue import load_catalogue
from settings.stack_file import read_stack_config, shipped_stacks, stack_file_path
from settings.table import PROJECT
from testing.mock_program import Deployment, deploy, project_config

# The stack files git tracks: a personal, untracked Pulumi.<name>.yaml never turns the suite red.
SHIPPED_STACKS = shipped_stacks()
# The first twenty Regions where OAI works (Lambda@Edge refuses Regions launched after 2022).
TWENTY_ORIGINS = [code for code, region in load_catalogue().items() if region.supports_oai][:20]
# Regions launched after December 2022, where only OAC works.
NEW_REGIONS = [code for code, region in load_catalogue().items() if not region.supports_oai]
CERTIFICATE_ARN = (
    "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
)
FUNCTIONS = {"engine": "cloudfront-functions"}
# An operator's own web ACL of scope CLOUDFRONT, as AWS WAF names it.
OWN_WEB_ACL_ARN = (
    "arn:aws:wafv2:us-east-1:123456789012:global/webacl/site-acl/"
    "a1b2c3d4-5678-90ab-cdef-0123456789ab"
)

# Configurations beyond the shipped stacks, chosen to reach every branch of the program.
SCENARIOS = {
    "custom-domain": project_config(
        origins=["us-east-1", "eu-central-1", "ap-southeast-2"],
        aliases=["cdn.example.com"],
        certificateArn=CERTIFICATE_ARN,
        tags={"team": "platform"},
        replicationTimeControl="true",
    ),
    "fixed-failover": project_config(
        origins=["us-east-1", "eu-central-1", "ap-northeast-1"],
        failover="fixed",
        failoverOrigin="ap-northeast-1",
        failoverStatusCodes=[500, 502, 503, 504],
        replication="off",
    ),
    "single-origin": project_config(origins=["eu-west-1"]),
    "twenty-origins": project_config(origins=TWENTY_ORIGINS),
    "functions-new-regions": project_config(
        origins=["us-east-1", "eu-central-1", *NEW_REGIONS[:3]], **FUNCTIONS
    ),
    "functions-fixed-failover": project_config(
        origins=["us-east-1", "eu-central-1", "ap-northeast-1"],
        failover="fixed",
        failoverOrigin="ap-northeast-1",
        failoverStatusCodes=[500, 503, 504],
        replication="off",
        **FUNCTIONS,
    ),
    "functions-single-origin": project_config(origins=["ap-southeast-4"], **FUNCTIONS),
    "functions-twenty-origins": project_config(
        origins=[*NEW_REGIONS, *TWENTY_ORIGINS][:20], logRetentionDays="7", **FUNCTIONS
    ),
    "drained": project_config(
        origins=["us-east-1", "eu-central-1", "ap-northeast-1"], drained=["eu-central-1"]
    ),
    "functions-drained": project_config(
        origins=["us-east-1", "eu-central-1", "ap-northeast-1"],
        drained=["us-east-1"],
        **FUNCTIONS,
    ),
    "operated": {
        **project_config(
            origins=["us-east-1", "eu-central-1", "ap-northeast-1"],
            alarmEmail="oncall@example.com",
            alarmErrorRatePercent="2.5",
            alarmEvaluationMinutes="3",
            alarmErrorCount="10",
            accessLogs="true",
            accessLogDays="30",
        ),
        "aws:region": "eu-west-1",
    },
    "functions-operated": project_config(
        origins=["us-east-1", "eu-west-1"], accessLogs="true", **FUNCTIONS
    ),
    "unmonitored": project_config(origins=["us-east-1", "eu-west-1"], monitoring="false"),
    # Every option on, at 20 origins: the largest stack the docs describe, for each engine.
    "everything-twenty": {
        **project_config(
            origins=TWENTY_ORIGINS,
            routes={"ap-south-1": TWENTY_ORIGINS[1]},
            drained=[TWENTY_ORIGINS[-1]],
            failoverStatusCodes=[400, 403, 404, 416, 500, 502, 503, 504],
            aliases=["cdn.example.com", "www.example.com"],
            certificateArn=CERTIFICATE_ARN,
            tags={"team": "platform", "cost-center": "1234"},
            priceClass="PriceClass_200",
            replicationTimeControl="true",
            alarmEmail="oncall@example.com",
            accessLogs="true",
        ),
        "aws:region": "eu-west-1",
    },
    "functions-everything-twenty": project_config(
        origins=[*NEW_REGIONS, *TWENTY_ORIGINS][:20],
        routes={"ap-south-1": NEW_REGIONS[0]},
        drained=[[*NEW_REGIONS, *TWENTY_ORIGINS][19]],
        aliases=["cdn.example.com"],
        certificateArn=CERTIFICATE_ARN,
        tags={"team": "platform"},
        replicationTimeControl="true",
        alarmEmail="oncall@example.com",
        accessLogs="true",
        **FUNCTIONS,
    ),
    # The routing state and the evacuator: off, from other vantage Regions (Lambda@Edge keeps the
    # state where it runs; CloudFront Functions may use any Region every account has), with slow
    # probes, and without monitoring (no topic to notify).
    "evacuation-off": project_config(
        origins=["us-east-1", "eu-central-1", "ap-northeast-1"],
        drained=["ap-northeast-1"],
        evacuation="false",
    ),
    "functions-evacuation-off": project_config(
        origins=["us-east-1", "eu-central-1", "ap-northeast-1"],
        drained=["eu-central-1"],
        evacuation="false",
        **FUNCTIONS,
    ),
    "custom-vantages": project_config(
        origins=["us-east-1", "eu-central-1", "ap-southeast-2"],
        evacuationVantages=["us-west-2", "eu-central-1"],
        evacuationFailures="2",
        evacuationRecoveries="4",
        # Within the 4 s of failover the project promises, the longest a probe may connect.
        originConnectionTimeout="4",
        originConnectionAttempts="1",
    ),
    "functions-custom-vantages": {
        **project_config(
            origins=["us-east-1", "eu-west-1", "sa-east-1"],
            evacuationVantages=["ca-central-1", "eu-north-1", "ap-southeast-2", "sa-east-1"],
            evacuationFailures="5",
            logRetentionDays="14",
            **FUNCTIONS,
        ),
        "aws:region": "eu-west-1",
    },
    "functions-unmonitored": project_config(
        origins=["us-east-1", "eu-west-1"], monitoring="false", **FUNCTIONS
    ),
    "web-acl-managed": project_config(
        origins=["us-east-1", "eu-central-1"], webAcl="managed", wafRateLimit="500"
    ),
    "functions-web-acl-managed": project_config(
        origins=["us-east-1", "eu-west-1"], webAcl="managed", **FUNCTIONS
    ),
    "web-acl-arn": project_config(origins=["us-east-1", "eu-central-1"], webAcl=OWN_WEB_ACL_ARN),
    "functions-web-acl-arn": {
        **project_config(origins=["us-east-1", "eu-west-1"], webAcl=OWN_WEB_ACL_ARN, **FUNCTIONS),
        "aws:region": "eu-west-1",
    },
    "switch-to-functions": project_config(
        origins=["us-east-1", "eu-central-1"], nextEngine="cloudfront-functions"
    ),
    "switch-to-lambda-edge": project_config(
        origins=["us-east-1", "eu-central-1"], nextEngine="lambda-edge", **FUNCTIONS
    ),
}


def _config(key: str) -> tuple[dict[str, str], str]:
    if key.startswith("stack:"):
        name = key.removeprefix("stack:")
        return read_stack_config(stack_file_path(name)), name
    return SCENARIOS[key], key


def config_of(key: str) -> tuple[dict[str, str], str]:
    """The config (namespaced keys → CLI strings) and stack name of a stack file or scenario."""
    return _config(key)


def _engine(key: str) -> str:
    return _config(key)[0].get(f"{PROJECT}:engine", "lambda-edge")


# In a parallel run (pytest-xdist), where the workers keep the deployments they share: a folder in
# the run's own temporary folder (pytest keeps the last three runs'). None in a run of one process.
_SHARED: Path | None = None


def pytest_configure(config):
    global _SHARED
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: its basetemp is in the run's
        _SHARED = Path(config.option.basetemp).parent / "deployments"


@functools.cache
def deployed(key: str) -> Deployment:
    """The program run under mocks for a stack file or scenario, once per test run: kept for the
    process, and in a parallel run shared between the workers through a file (the first to need
    it deploys it, under a lock; the others read it), which spares each other worker up to 8 s of
    CPU per twenty-origin scenario. Tests only read it."""
    config, stack = _config(key)
    if _SHARED is None:
        return deploy(config, stack=stack)
    _SHARED.mkdir(parents=True, exist_ok=True)
    saved = _SHARED / f"{key.replace(':', '-')}.pickle"
    with (_SHARED / f"{saved.stem}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if saved.exists():
            return pickle.loads(saved.read_bytes())
        deployment = deploy(config, stack=stack)
        saved.write_bytes(pickle.dumps(deployment))
        return deployment


ALL = [*(f"stack:{name}" for name in SHIPPED_STACKS), *SCENARIOS]
LAMBDA_EDGE = [key for key in ALL if _engine(key) == "lambda-edge"]
CLOUDFRONT_FUNCTIONS = [key for key in ALL if _engine(key) == "cloudfront-functions"]


@pytest.fixture(scope="session", params=ALL)
def deployment(request):
    """The program run under mocks for each stack file in the repository and each scenario."""
    return deployed(request.param)


@pytest.fixture(scope="session", params=LAMBDA_EDGE)
def lambda_edge_deployment(request):
    """The stacks and scenarios that route with Lambda@Edge."""
    return deployed(request.param)


@pytest.fixture(scope="session", params=CLOUDFRONT_FUNCTIONS)
def functions_deployment(request):
    """The stacks and scenarios that route with CloudFront Functions."""
    return deployed(request.param)
