"""What the tools that call AWS services other than S3's object API share (``./dev cleanup``,
``./dev backfill``): clients with the credentials every AWS tool finds (AWS_PROFILE, the
AWS_ACCESS_KEY_ID pair, the shared files, an instance role: boto3's default chain), an endpoint
override for an emulator, and one-line errors instead of tracebacks."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)
from botocore.parsers import ResponseParserError

from tools.cli import NO_CREDENTIALS, ToolError


def add_endpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every request to this endpoint instead of AWS's (an emulator such as moto's "
        "server, which answers every service and Region)",
    )


def endpoint_url(text: str | None) -> str | None:
    """The checked --endpoint-url."""
    if text is not None and not text.startswith(("http://", "https://")):
        raise ToolError(f"--endpoint-url {text!r}: expected a URL starting http:// or https://")
    return text


class Clients:
    """boto3 clients by service and Region, made once each, in a session of their own."""

    def __init__(self, endpoint: str | None = None) -> None:
        self.endpoint = endpoint
        self._session = boto3.session.Session()
        self._made: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._made:
            config = Config(
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=10,
                read_timeout=60,
                # S3 Control prefixes the account to AWS's host; an emulator has one host only.
                inject_host_prefix=self.endpoint is None,
            )
            self._made[key] = self._session.client(
                service, region_name=region, endpoint_url=self.endpoint, config=config
            )
        return self._made[key]


def not_the_service(service: str, endpoint: str | None, error: ResponseParserError) -> ToolError:
    """An answer the SDK could not parse (botocore's message carries the whole body, over many
    lines): one line saying that whatever answered is not ``service``."""
    return ToolError(
        f"the {service} API at {endpoint} answered something that is not {service} "
        f"({answer_kind(error)}): check --endpoint-url"
    )


def answer_kind(error: ResponseParserError) -> str:
    """What botocore could not parse, in a few words."""
    text = str(error)
    return next((k for k in ("invalid XML", "invalid JSON") if k in text), "an unreadable answer")


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or str(error)


@contextmanager
def explained(what: str) -> Iterator[None]:
    """Turn what a person can fix (credentials, an unreachable endpoint, a refusal) into a one-line
    ToolError saying what was being done."""
    try:
        yield
    except NoCredentialsError:
        raise ToolError(NO_CREDENTIALS) from None
    except EndpointConnectionError as error:
        raise ToolError(f"{what}: cannot reach {error.kwargs.get('endpoint_url')}") from None
    except ClientError as error:
        code = error_code(error)
        hint = (
            "; check the credentials' permissions (docs/deploying.md)"
            if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
            else ""
        )
        raise ToolError(f"{what}: {code}: {error_message(error)}{hint}") from None
    except ResponseParserError as error:
        raise ToolError(
            f"{what}: the endpoint answered something that is not AWS ({answer_kind(error)}): "
            "check --endpoint-url"
        ) from None
    except BotoCoreError as error:
        raise ToolError(f"{what}: {error}") from None
