"""The evacuator's package carries its own AWS SDK: unpacked alone, with nothing but the standard
library beside it (no site-packages, no awscrt), it imports, makes every client the evacuator
makes with the limits of ``evacuation.budget``, and signs a key value store request with SigV4A;
it carries the data of the services the evacuator calls and no other; the same files give the same
archive; and it fits Lambda's quotas."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from components.evacuator import (
    MAX_PACKAGE_BYTES,
    archive_bytes,
    package_archive,
    package_files,
)
from evacuation.budget import SERVICES

ROOT = Path(__file__).resolve().parents[2]
# "Deployment package (.zip file archive) size ... 250 MB (unzipped)" (Lambda quotas).
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024

# Run in the unpacked package with -I -S: no site-packages, no environment variables, no user
# site; the package's folder is the only thing on sys.path beside the standard library.
ISOLATED = """
import importlib.util, json, os, sys
sys.path.insert(0, sys.argv[1])
os.environ.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                  AWS_SESSION_TOKEN="token")
from botocore.awsrequest import AWSResponse
from evacuation import lambda_function
from evacuation.evacuator import settings_from_environment

settings = settings_from_environment(sys.argv[2])
clients = lambda_function.clients_for(settings)
made = {"s3": list(clients.s3.values()), "dynamodb": [clients.dynamodb, clients.dynamodb_home],
        "cloudfront-keyvaluestore": [clients.kvs], "sns": [clients.sns],
        "cloudwatch": [clients.cloudwatch]}
sent = []
def answer(request, **_):
    headers = request.headers.items()
    sent.append({k: (v.decode() if isinstance(v, bytes) else v) for k, v in headers})
    return AWSResponse(request.url, 200, {"ETag": "E1"}, None)
clients.kvs.meta.events.register("before-send", answer)
try:
    clients.kvs.describe_key_value_store(KvsARN=settings.kvs_arn)
except Exception:
    pass
modules = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3", "ecdsa"]
print(json.dumps({
    "files": {name: sys.modules[name].__file__ for name in modules},
    "awscrt": importlib.util.find_spec("awscrt") is not None,
    "limits": {service: [[c.meta.config.connect_timeout, c.meta.config.read_timeout,
                          c.meta.config.retries["total_max_attempts"]] for c in made[service]]
               for service in made},
    "services": sorted({c.meta.service_model.service_name for cs in made.values() for c in cs}),
    "authorization": sent[0]["Authorization"],
}))
"""


def settings_document():
    return json.dumps(
        {
            "stack": "prod",
            "vantage": "eu-west-1",
            "vantages": ["us-east-1", "eu-west-1"],
            "buckets": {"us-east-1": "bucket-a", "eu-central-1": "bucket-b"},
            "failures": 4,
            "recoveries": 13,
            "quorum": 2,
            "maxOut": 1,
            "probeSeconds": 10,
            "invocationSeconds": 120,
            "freshSeconds": 90,
            "connectTimeout": 1,
            "readTimeout": 5,
            "table": "routing-state",
            "tableRegion": "us-east-1",
            "account": "123456789012",
            "kvsArn": "arn:aws:cloudfront::123456789012:key-value-store/9a8b7c6d-1e2f-4a5b",
            "topicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
        }
    )


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    code = tmp_path_factory.mktemp("evacuator")
    with zipfile.ZipFile(package_archive()) as archive:
        archive.extractall(code)
    return code


def test_unpacked_alone_it_makes_every_client_with_its_limits_and_signs_without_awscrt(unpacked):
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", ISOLATED, str(unpacked), settings_document()],
        capture_output=True,
        text=True,
        check=False,
        cwd=unpacked,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # Every module from the package, none from this environment; and no awscrt to sign with.
    assert all(Path(file).is_relative_to(unpacked) for file in report["files"].values()), report
    assert report["awscrt"] is False
    assert report["services"] == sorted(SERVICES)
    probe, table, one_second = [1, 5, 1], [1, 1, 1], [[1, 1, 1]]
    assert report["limits"] == {
        "s3": [probe, probe],
        "dynamodb": [table, table],
        "cloudfront-keyvaluestore": one_second,
        "sns": one_second,
        "cloudwatch": one_second,
    }
    assert (
        report["authorization"].startswith("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/")
        and "x-amz-security-token" in report["authorization"]
    )


def test_it_carries_the_evacuator_the_sdk_and_the_data_of_the_services_it_calls_only():
    files = package_files()
    evacuation = ROOT / "evacuation"
    assert {name for name in files if name.startswith("evacuation/")} == {
        f"evacuation/{module.name}" for module in evacuation.glob("*.py")
    }
    assert {name.split("/")[0] for name in files} == {
        "evacuation",
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "dateutil",
        "six.py",
        "urllib3",
        "ecdsa",
    }
    data = [name for name in files if name.startswith("botocore/data/")]
    assert {name.split("/")[2] for name in data if name.count("/") == 4} == set(SERVICES)
    assert {name for name in data if name.count("/") == 2} == {
        "botocore/data/_retry.json",
        "botocore/data/endpoints.json",
        "botocore/data/partitions.json",
        "botocore/data/sdk-default-configuration.json",
    }
    assert "botocore/data/dynamodb/2012-08-10/service-2.json.gz" in files
    assert not [name for name in files if "/examples-" in name or "/2011-12-05/" in name]
    assert not [n for n in files if "/test_" in n or n.endswith(".pyc") or "__pycache__" in n]


def test_the_same_files_give_the_same_archive_named_after_its_contents():
    files = package_files()
    assert archive_bytes(dict(reversed(list(files.items())))) == archive_bytes(files)
    path = package_archive()
    assert path.read_bytes() == archive_bytes(files)
    assert path.parent == ROOT / ".build" and path.name.startswith("evacuator-")
    changed = {**files, "evacuation/budget.py": files["evacuation/budget.py"] + b"\n"}
    assert archive_bytes(changed) != archive_bytes(files)


def test_it_fits_lambdas_quotas():
    files = package_files()
    size = package_archive().stat().st_size
    assert size <= MAX_PACKAGE_BYTES
    assert sum(len(data) for data in files.values()) <= MAX_UNZIPPED_BYTES
    # A few megabytes: the SDK with five services' data, not botocore's hundreds.
    assert 2_000_000 < size < 10_000_000, size
