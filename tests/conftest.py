import os

import pytest
from hypothesis import HealthCheck, settings

from edge_function import origin_request
from routing.table import derive_routing_table
from tests.support import SEED_ORIGINS

# CI (.ci/run sets CI) runs the property tests with a fixed seed so a red build is reproducible;
# locally they explore. Neither fails on a slow machine's generation speed (too_slow): that is no
# property of the code.
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def seed_table():
    return derive_routing_table(SEED_ORIGINS)


@pytest.fixture
def make_handler(tmp_path):
    """Build a handler the way a cold container does: from an artifact file on disk; ``state``
    stands in for the routing state the artifact names (a ``tests.support.FakeState``)."""

    def make(artifact_json: str, state=None):
        path = tmp_path / "routing.json"
        path.write_text(artifact_json, encoding="utf-8")
        return origin_request.build_handler(origin_request.load_artifact(str(path)), state=state)

    return make
