"""A local folder as objects to be: each file's key, size, content type and the ETag S3 gives it
once uploaded. ``./dev publish`` uploads what differs from the buckets; the sandbox serves the
folder given with ``--assets``."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from s3transfer.utils import ChunksizeAdjuster

from tools.interrupt import worker_threads

# Files from this size up go as multipart uploads of parts this size (s3transfer's defaults).
PART_BYTES = 8 * 1024 * 1024
_CHUNK = 1024 * 1024


class FolderError(Exception):
    """The folder to read is not there; a one-line error for the person who named it."""


def _md5_of_next(handle: BinaryIO, limit: int) -> bytes | None:
    """The MD5 of the next ``limit`` bytes of ``handle`` (fewer at the end), read a chunk at a
    time; None at the end of the file."""
    digest = hashlib.md5(usedforsecurity=False)
    remaining = limit
    while remaining and (chunk := handle.read(min(_CHUNK, remaining))):
        digest.update(chunk)
        remaining -= len(chunk)
    return digest.digest() if remaining < limit else None


def expected_etag(path: Path, size: int) -> str:
    """The ETag S3 gives this file's object as uploaded here: its MD5 for a single PUT; for a
    multipart upload, the MD5 of the parts' MD5s and the part count, with s3transfer's part size."""
    with path.open("rb") as handle:
        if size < PART_BYTES:
            return hashlib.md5(handle.read(), usedforsecurity=False).hexdigest()
        part_bytes = ChunksizeAdjuster().adjust_chunksize(PART_BYTES, size)
        parts = []
        while (part := _md5_of_next(handle, part_bytes)) is not None:
            parts.append(part)
    return f"{hashlib.md5(b''.join(parts), usedforsecurity=False).hexdigest()}-{len(parts)}"


@dataclass(frozen=True)
class LocalFile:
    path: Path
    key: str
    size: int
    etag: str

    @property
    def content_type(self) -> str:
        guessed, _ = mimetypes.guess_type(self.path.name)
        return guessed or "application/octet-stream"


def scan_folder(folder: Path, prefix: str) -> list[LocalFile]:
    """Every file under ``folder``, in path order, keyed ``prefix`` + its path inside the folder."""
    if not folder.is_dir():
        raise FolderError(f"no folder at {folder}")
    paths = sorted(p for p in folder.rglob("*") if p.is_file())

    def local(path: Path) -> LocalFile:
        size = path.stat().st_size
        return LocalFile(
            path, prefix + path.relative_to(folder).as_posix(), size, expected_etag(path, size)
        )

    # hashlib releases the GIL on large buffers: big folders hash on every core.
    with worker_threads(name="hash") as pool:
        return list(pool.map(local, paths))
