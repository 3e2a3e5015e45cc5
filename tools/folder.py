"""A local folder as objects to be: each file's key, size, content type and the ETag S3 gives it
once uploaded. ``./dev publish`` uploads what differs from the buckets; the sandbox serves the
folder given with ``--assets``."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import stat
import sys
from collections.abc import Callable
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


def shown(path: Path) -> str:
    """``path`` printable whatever its bytes: a name that is not UTF-8 shows them escaped."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _not_content(path: Path) -> str | None:
    """Why ``path`` cannot be an object, as aws s3 sync and rsync skip it too; "" for a folder
    (walked into, nothing to say), None for a file that can be one."""
    try:
        path.as_posix().encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not UTF-8, which S3 object keys are"
    try:
        mode = path.stat().st_mode  # through a symbolic link, to what it points at
    except FileNotFoundError:
        return (
            "a symbolic link to nothing" if path.is_symlink() else "gone while the folder was read"
        )
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if stat.S_ISDIR(mode):
        return ""  # walked into, not an object itself
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        )
        return f"{kind}, not a regular file"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def _report_skipped(line: str) -> None:
    print(line, file=sys.stderr)


def scan_folder(
    folder: Path, prefix: str, *, skipped: Callable[[str], None] = _report_skipped
) -> list[LocalFile]:
    """Every regular file under ``folder``, in path order, keyed ``prefix`` + its path inside the
    folder. What cannot be an object (a FIFO, socket or device, a link to nothing, a file that
    cannot be read, a name that is not UTF-8) is skipped with one line to ``skipped`` naming it
    and why, as ``aws s3 sync`` and ``rsync`` skip them: a site's folder with a stray socket or
    an editor's lock file in it is still a site."""
    if not str(folder).strip():
        raise FolderError("an empty name is not a folder: give the folder's path")
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise FolderError(f"{shown(folder)} {what}")
    paths = []
    for path in sorted(folder.rglob("*")):
        why = _not_content(path)
        if why:
            skipped(f"skipped {shown(path)}: {why}")
        elif why is None:
            paths.append(path)

    def local(path: Path) -> LocalFile | None:
        try:
            size = path.stat().st_size
            etag = expected_etag(path, size)
        except OSError as error:
            skipped(f"skipped {shown(path)}: cannot be read ({error.strerror})")
            return None
        return LocalFile(path, prefix + path.relative_to(folder).as_posix(), size, etag)

    # hashlib releases the GIL on large buffers: big folders hash on every core.
    with worker_threads(name="hash") as pool:
        return [local for local in pool.map(local, paths) if local is not None]
