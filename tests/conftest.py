import functools
import os

import botocore.loaders
import botocore.session
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


class _EachPathOnce(list):
    """A loader's search paths, taking each path once: boto3 appends its own data folder to the
    loader of every session it makes, and here every session shares one loader."""

    def append(self, path):
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader(search_path_string=None):
    loader = botocore.loaders.create_loader(search_path_string)
    loader._search_paths = _EachPathOnce(loader.search_paths)
    return loader


# Every botocore session made in a test process (the tools make their own, once per command) reads
# the service models, endpoint rules and partitions through one loader, which keeps what it parsed:
# the files are botocore's own and never change while the suite runs, and a fresh loader parses
# them again for each session's first client (a tenth of a second per client on an idle machine, a
# second or more on a busy one). AWS_DATA_PATH is still honoured: the loader is per search path.
botocore.session.create_loader = _shared_loader


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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test marked slow says why it must stay end to end: ``slow(reason=...)``."""
    unexplained = [
        item.nodeid
        for item in items
        if (mark := item.get_closest_marker("slow")) is not None and not mark.kwargs.get("reason")
    ]
    if unexplained:
        raise pytest.UsageError(
            "marked slow without a reason (pytest.mark.slow(reason=...)): " + ", ".join(unexplained)
        )
