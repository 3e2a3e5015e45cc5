"""One bucket's share of ``./dev publish``: uploads, metadata updates in place, and a stop that
leaves nothing half-done.

A file under ``PART_BYTES`` is one PutObject with its bytes; a larger one a multipart upload
through boto3's managed transfer (s3transfer), in parts of the size ``expected_etag`` assumes. An
object whose bytes are already right but whose metadata is not (Content-Type, Cache-Control) is
copied onto itself with the new metadata (CopyObject with ``MetadataDirective=REPLACE``), its bytes
not sent again; a multipart object is uploaded again instead, since a copy in one piece would not
keep its multipart ETag. Every request carries the SHA-256 of the bytes it stores.

At most ``concurrency`` requests are in flight: the single requests first, then the multipart
uploads. ``cancel`` stops: requests not yet sent are dropped, those in flight end (one PutObject,
CopyObject or part each), and this run's unfinished multipart uploads are aborted (their upload
ids are recorded as S3 returns them), so no part is left stored; what could not be aborted is
reported with the command that finishes the job.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from boto3.s3.transfer import create_transfer_manager
from botocore.exceptions import BotoCoreError, ClientError
from s3transfer.subscribers import BaseSubscriber

from core.buckets import ABORT_INCOMPLETE_UPLOAD_DAYS
from tools.cli import ToolError
from tools.folder import PART_BYTES, LocalFile
from tools.interrupt import say
from tools.stack_buckets import explained, transfer_config

# The SHA-256 of every request's bytes, which S3 checks before it stores them (S3 user guide,
# "Checking object integrity in Amazon S3").
CHECKSUM = "SHA256"
# What publish sets on every object besides its bytes, as boto3's parameters name it; an object
# whose values differ is updated (an absent one counts as None).
METADATA_FIELDS = ("ContentType", "CacheControl")
# How often the main thread looks whether work is done: a signal is handled in the main thread
# only, which must not sit in an untimed wait (Python docs, signal, "Signals and threads").
_LOOK_SECONDS = 0.02


def wanted_metadata(local: LocalFile, cache_control: str | None) -> dict[str, str]:
    """The metadata publish gives ``local``'s object, by boto3 parameter name."""
    return {
        "ContentType": local.content_type,
        **({"CacheControl": cache_control} if cache_control else {}),
    }


def metadata_changes(current: dict[str, Any], wanted: dict[str, str]) -> list[str]:
    """``"Field: 'old' -> 'new'"`` for each field of ``METADATA_FIELDS`` that differs."""
    return [
        f"{name}: {current.get(name)!r} -> {wanted.get(name)!r}"
        for name in METADATA_FIELDS
        if current.get(name) != wanted.get(name)
    ]


def wait_for(futures: Sequence[Any]) -> None:
    """Until every future (concurrent.futures' or s3transfer's) is done, looking up every 20 ms."""
    for future in futures:
        while not future.done():
            time.sleep(_LOOK_SECONDS)


class Progress:
    """A one-line progress bar on standard error, for runs long enough to want one; the workers
    report each request's bytes to it."""

    def __init__(self, total_bytes: int, enabled: bool, write: Callable[[str], None]) -> None:
        self.total = max(total_bytes, 1)
        self.done = 0
        self.enabled = enabled
        self._write = write
        self._lock = threading.Lock()

    def advance(self, count: int, label: str) -> None:
        with self._lock:
            self.done += count
            if self.enabled:
                filled = int(30 * self.done / self.total)
                self._write(
                    f"\r[{'#' * filled}{'.' * (30 - filled)}] {100 * self.done / self.total:5.1f}% "
                    f"{self.done / 1e6:8.1f}/{self.total / 1e6:.1f} MB {label[-40:]:<40}"
                )

    def finish(self) -> None:
        if self.enabled:
            self._write("\n")


@dataclass
class Outcome:
    """What one bucket's publisher did: a line per failure, counts, and what a stop left."""

    failures: list[str] = field(default_factory=list)
    uploaded: int = 0
    updated: int = 0
    not_done: int = 0
    left_behind: list[str] = field(default_factory=list)


class BucketPublisher:
    """Uploads and metadata updates for one bucket: ``start_*`` and ``wait`` from the main
    thread, then ``tally``; or ``cancel`` while they run."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        region: str,
        *,
        cache_control: str | None,
        concurrency: int,
        progress: Progress,
    ) -> None:
        self.client, self.bucket, self.region = client, bucket, region
        self.cache_control = cache_control
        self.concurrency = concurrency
        self.progress = progress
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix=f"publish-{region}")
        self._manager: Any = None
        # (file, its future, "uploaded" or "updated") for everything submitted.
        self._submitted: list[tuple[LocalFile, Any, str]] = []
        # key -> upload id of this run's multipart uploads, as S3 returned them.
        self._multipart: dict[str, str] = {}
        self._left_behind: list[str] = []
        client.meta.events.register(
            "after-call.s3.CreateMultipartUpload", self._record_multipart_upload
        )

    def _record_multipart_upload(self, parsed: dict[str, Any], **_: Any) -> None:
        if "UploadId" in parsed and "Key" in parsed:
            self._multipart[parsed["Key"]] = parsed["UploadId"]

    def start_single_requests(self, uploads: list[LocalFile], updates: list[LocalFile]) -> None:
        """Uploads under ``PART_BYTES`` (one PutObject each) and metadata updates."""
        for local in uploads:
            if local.size < PART_BYTES:
                self._submitted.append((local, self._executor.submit(self._put, local), "uploaded"))
        for local in updates:
            self._submitted.append((local, self._executor.submit(self._restamp, local), "updated"))

    def start_multipart(self, uploads: list[LocalFile]) -> None:
        """Uploads from ``PART_BYTES`` up, through s3transfer (``concurrency`` parts at once)."""
        large = [local for local in uploads if local.size >= PART_BYTES]
        if not large:
            return
        self._manager = create_transfer_manager(self.client, transfer_config(self.concurrency))
        for local in large:
            future = self._manager.upload(
                str(local.path),
                self.bucket,
                local.key,
                extra_args={
                    **wanted_metadata(local, self.cache_control),
                    "ChecksumAlgorithm": CHECKSUM,
                },
                subscribers=[_ProgressSubscriber(self.progress)],
            )
            self._submitted.append((local, future, "uploaded"))

    def wait(self) -> None:
        """Until everything submitted is done (a signal is seen at once meanwhile)."""
        wait_for([future for _, future, _ in self._submitted])

    def tally(self) -> Outcome:
        """What was done, what failed (a line each) and, after ``cancel``, what was not done."""
        outcome = Outcome(left_behind=list(self._left_behind))
        for local, future, kind in self._submitted:
            if not future.done() or (isinstance(future, Future) and future.cancelled()):
                outcome.not_done += 1
                continue
            try:
                with explained(self.bucket, self.region):
                    future.result()
            except CancelledError:  # s3transfer's cancelled transfers raise it too
                outcome.not_done += 1
                continue
            except ToolError as error:
                outcome.failures.append(f"{self.region} {local.key}: {error}")
                continue
            except OSError as error:  # the file changed or went since it was read
                reason = error.strerror or str(error)
                outcome.failures.append(f"{self.region} {local.key}: cannot read it: {reason}")
                continue
            if kind == "updated":
                outcome.updated += 1
            else:
                outcome.uploaded += 1
        return outcome

    def close(self) -> None:
        """After a run to its end: the threads go."""
        self._executor.shutdown()
        if self._manager is not None:
            self._manager.shutdown()

    # Requests, in the workers' threads.

    def _put(self, local: LocalFile) -> None:
        with explained(self.bucket, self.region):
            self.client.put_object(
                Bucket=self.bucket,
                Key=local.key,
                Body=local.path.read_bytes(),
                ChecksumAlgorithm=CHECKSUM,
                **wanted_metadata(local, self.cache_control),
            )
        self.progress.advance(local.size, local.key)

    def _restamp(self, local: LocalFile) -> None:
        """The object copied onto itself with the wanted metadata, if it still holds the bytes
        that were compared (``CopySourceIfMatch``); otherwise the file is uploaded."""
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=local.key,
                CopySource={"Bucket": self.bucket, "Key": local.key},
                CopySourceIfMatch=f'"{local.etag}"',
                MetadataDirective="REPLACE",
                ChecksumAlgorithm=CHECKSUM,
                **wanted_metadata(local, self.cache_control),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
                with explained(self.bucket, self.region):
                    raise
            self._put(local)  # changed since it was listed: the file is what is wanted there
            return
        self.progress.advance(0, local.key)

    # Stopping, from the main thread.

    def cancel(self) -> None:
        """Stop: requests not sent are dropped, those in flight end, and this run's unfinished
        multipart uploads are aborted; what could not be is told by ``tally``."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._manager is not None:
            # Cancels the transfers, waits for the parts in flight and aborts their uploads in
            # its clean-ups: the manager's way out of a ``with`` a Ctrl-C leaves. (Its
            # shutdown(cancel=True) passes its arguments on in the wrong order and raises
            # TypeError: boto/s3transfer#143.)
            interrupt = KeyboardInterrupt("publish was stopped")
            self._manager.__exit__(KeyboardInterrupt, interrupt, None)
        self._executor.shutdown(wait=True)
        for key, upload_id in self._unfinished_multipart():
            self._abort(key, upload_id)

    def _unfinished_multipart(self) -> list[tuple[str, str]]:
        """(key, upload id) of this run's multipart uploads that did not complete."""
        finished = {
            local.key
            for local, future, _ in self._submitted
            if future.done() and not _failed(future)
        }
        return [
            (key, upload) for key, upload in sorted(self._multipart.items()) if key not in finished
        ]

    def tell_unfinished(self) -> None:
        """For a stop at once, which aborts nothing: a line for each multipart upload left."""
        for key, upload_id in self._unfinished_multipart():
            line = self._unfinished_line(key, upload_id)
            say(f"possibly left behind (unless its abort had gone through): {line}")

    def _abort(self, key: str, upload_id: str) -> None:
        """Abort one multipart upload again (AWS: "it might be necessary to abort a given
        multipart upload multiple times in order to completely free all storage consumed by all
        parts", S3 API reference, AbortMultipartUpload); one already gone is done."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in ("NoSuchUpload", "404"):
                self._left(key, upload_id, code or str(error))
        except BotoCoreError as error:
            self._left(key, upload_id, str(error))

    def _left(self, key: str, upload_id: str, why: str) -> None:
        self._left_behind.append(
            self._unfinished_line(key, upload_id).replace(";", f" (not aborted: {why});", 1)
        )

    def _unfinished_line(self, key: str, upload_id: str) -> str:
        return (
            f"an unfinished multipart upload of {key} in {self.bucket} ({self.region}); its parts "
            f"stay stored until: aws s3api abort-multipart-upload --region {self.region} --bucket "
            f"{self.bucket} --key {shlex.quote(key)} --upload-id {upload_id} (or the bucket's "
            f"lifecycle rule aborts it after {ABORT_INCOMPLETE_UPLOAD_DAYS} days)"
        )


def _failed(future: Any) -> bool:
    """Whether a done future (either kind) ended in an exception or was cancelled."""
    if isinstance(future, Future):
        return future.cancelled() or future.exception() is not None
    try:
        future.result()
    except Exception:  # noqa: BLE001 - any failure: the object is not in place
        return True
    return False


class _ProgressSubscriber(BaseSubscriber):  # type: ignore[misc]
    """s3transfer's progress callbacks onto ``Progress``."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        self.progress.advance(bytes_transferred, future.meta.call_args.key)
