import pytest

from routing.catalogue import load_catalogue
from tools.mock_program import deploy, project_config
from tools.stack_file import read_stack_config, shipped_stacks, stack_file_path

# The stack files git tracks: a personal, untracked Pulumi.<name>.yaml never turns the suite red.
SHIPPED_STACKS = shipped_stacks()
# The first twenty Regions where OAI works (Regions launched after 2022 are refused).
TWENTY_ORIGINS = [code for code, region in load_catalogue().items() if region.supports_oai][:20]
CERTIFICATE_ARN = (
    "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
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
}


@pytest.fixture(
    scope="session",
    params=[*(f"stack:{name}" for name in SHIPPED_STACKS), *SCENARIOS],
)
def deployment(request):
    """The program run under mocks for each stack file in the repository and each scenario."""
    if request.param.startswith("stack:"):
        name = request.param.removeprefix("stack:")
        return deploy(read_stack_config(stack_file_path(name)), stack=name)
    return deploy(SCENARIOS[request.param], stack=request.param)
