"""The one boto3 session every client of the sandbox is made from (its S3 emulators, the state
table, the evacuators), with the credentials the emulated stores accept.

A fresh session parses botocore's service models and endpoint rules again for its first client
(about a tenth of a second per client on an idle machine, a second or more on a busy one, and a
sandbox makes a dozen clients or more); one session parses them once per process. botocore does not
promise that a session makes clients safely from several threads at once, so they are made one at a
time; the clients themselves are thread-safe ("Low-level clients are thread safe", boto3 guide,
"Multithreading or multiprocessing with clients":
https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import boto3

# What the emulated stores accept, and what the sandbox's own clients sign with.
SANDBOX_CREDENTIALS = {"sandbox": "sandbox"}


class _SharedSession(boto3.session.Session):  # type: ignore[misc]  # boto3 has no types
    """A session whose clients are made one at a time."""

    _making = threading.Lock()

    def client(self, *args: Any, **kwargs: Any) -> Any:
        with self._making:
            return super().client(*args, **kwargs)


@functools.cache
def sandbox_session() -> boto3.session.Session:
    """The process's session for the sandbox's clients, made on first use (two threads that
    race for the first make two, which is harmless)."""
    (key, secret), *_ = SANDBOX_CREDENTIALS.items()
    return _SharedSession(aws_access_key_id=key, aws_secret_access_key=secret)
