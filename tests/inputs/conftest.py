from pathlib import Path

import pytest

from tests.inputs.support import BadFiles


@pytest.fixture
def bad_files(tmp_path: Path) -> BadFiles:
    """Files of every kind no command should read, made on demand: ``bad_files["device"]``."""
    return BadFiles(tmp_path)


@pytest.fixture
def aws(monkeypatch, tmp_path):
    """Credentials that reach nothing, and no lookups of real ones (no profile, no instance
    metadata)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
