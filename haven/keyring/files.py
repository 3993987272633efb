"""Encrypted files: sealed as they stream in, opened as they stream out.

Layout of a stored file: ``HVF1 | secretstream header | (length | sealed chunk)*``; chunks
hold up to 64 KiB of plaintext, the last one carries the FINAL tag. The stream key is
derived (HKDF) from the owner's data key and the file's id, and every chunk authenticates
the owner and the file id, so erasing the owner's data key makes the file noise, and a file
swapped for another fails to open.

``EncryptingUploadHandler`` replaces Django's upload handlers for one request: each chunk
Django reads from the socket is sealed and written at once. No plaintext reaches a
temporary file, and the request is refused as soon as it passes the size limit.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

from haven.core.errors import HavenError
from haven.keyring import crypto

MAGIC = b"HVF1"

if TYPE_CHECKING:
    _UploadedFile = UploadedFile[Any]
else:
    _UploadedFile = UploadedFile


class TooLarge(HavenError):
    status = 413
    code = "too_large"


class FileDamaged(HavenError):
    status = 500
    code = "tampered"


def max_upload_bytes() -> int:
    return int(getattr(settings, "HAVEN_MAX_UPLOAD_MB", 25)) * 1024 * 1024


def _too_large() -> TooLarge:
    return TooLarge(f"The file is larger than the limit of {max_upload_bytes() // (1024 * 1024)} MB.")


def stored_path(file_id: uuid.UUID) -> Path:
    return Path(settings.FILES_DIR) / f"{file_id}.hvf"


def _stream_key(data_key: bytes, file_id: uuid.UUID) -> bytes:
    return crypto.hkdf(data_key, info=b"haven/file/v1", salt=file_id.bytes)


def _aad(owner: tuple[str, str], file_id: uuid.UUID) -> bytes:
    return f"haven/file/v1|{owner[0]}|{owner[1]}|{file_id}".encode()


class SealedFileWriter:
    """Write one encrypted file chunk by chunk; ``close`` finishes it, ``abort`` removes it."""

    def __init__(self, *, data_key: bytes, owner: tuple[str, str], file_id: uuid.UUID) -> None:
        self.file_id = file_id
        self.path = stored_path(file_id)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._part = self.path.with_suffix(".part")
        self._fd = os.open(self._part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._sealer = crypto.StreamSealer(_stream_key(data_key, file_id), _aad(owner, file_id))
        self._buffer = bytearray()
        self.size = 0
        self._write(MAGIC + self._sealer.header)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def write(self, data: bytes) -> None:
        self.size += len(data)
        self._buffer += data
        while len(self._buffer) >= crypto.STREAM_CHUNK:
            chunk = bytes(self._buffer[: crypto.STREAM_CHUNK])
            del self._buffer[: crypto.STREAM_CHUNK]
            self._write(self._sealer.push(chunk))

    def close(self) -> None:
        self._write(self._sealer.push(bytes(self._buffer), final=True))
        self._buffer.clear()
        os.fsync(self._fd)
        os.close(self._fd)
        os.replace(self._part, self.path)

    def abort(self) -> None:
        self._buffer.clear()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        with contextlib.suppress(FileNotFoundError):
            self._part.unlink()


def open_decrypted(*, data_key: bytes, owner: tuple[str, str], file_id: uuid.UUID
                   ) -> Iterator[bytes]:
    """Plaintext chunks of a stored file; raises ``FileDamaged`` on any change or truncation."""
    path = stored_path(file_id)
    with path.open("rb") as source:
        if source.read(len(MAGIC)) != MAGIC:
            raise FileDamaged("The stored file is not a Haven encrypted file.")
        try:
            yield from crypto.open_stream(_stream_key(data_key, file_id), source,
                                          _aad(owner, file_id))
        except crypto.DecryptionFailed as exc:
            raise FileDamaged(f"The stored file failed its integrity check ({exc}).") from None


def delete_stored(file_id: uuid.UUID) -> None:
    with contextlib.suppress(FileNotFoundError):
        stored_path(file_id).unlink()


class EncryptedUpload(_UploadedFile):
    """What the upload handler hands the view: where the sealed file is, never its bytes."""

    def __init__(self, *, file_id: uuid.UUID, name: str, content_type: str, size: int) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.file_id = file_id

    def open(self, *args: Any, **kwargs: Any) -> EncryptedUpload:
        raise HavenError("An encrypted upload cannot be read back as plaintext.")


class EncryptingUploadHandler(FileUploadHandler):
    """Seal each uploaded chunk as it arrives (install as ``request.upload_handlers = [...]``).

    Refuses with ``TooLarge`` as soon as the declared length or the bytes received pass
    ``HAVEN_MAX_UPLOAD_MB``; a partial file is removed.
    """

    chunk_size = crypto.STREAM_CHUNK

    def __init__(self, request: HttpRequest, *, data_key: bytes, owner: tuple[str, str]) -> None:
        super().__init__(request)
        self._data_key = data_key
        self._owner = owner
        self._writer: SealedFileWriter | None = None
        self.completed: list[EncryptedUpload] = []

    def handle_raw_input(self, input_data: Any, META: Any, content_length: int, boundary: Any,  # noqa: N803 - Django's signature
                         encoding: str | None = None) -> None:
        if content_length and content_length > max_upload_bytes() + 64 * 1024:
            raise _too_large()

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self._writer = SealedFileWriter(data_key=self._data_key, owner=self._owner,
                                        file_id=uuid.uuid4())

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        assert self._writer is not None  # noqa: S101 - Django calls new_file first
        if self._writer.size + len(raw_data) > max_upload_bytes():
            self.abort()
            raise _too_large()
        self._writer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> EncryptedUpload | None:
        writer, self._writer = self._writer, None
        if writer is None:
            return None
        writer.close()
        upload = EncryptedUpload(file_id=writer.file_id, name=self.file_name or "file",
                                 content_type=self.content_type or "application/octet-stream",
                                 size=writer.size)
        self.completed.append(upload)
        return upload

    def upload_interrupted(self) -> None:
        self.abort()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
        for upload in self.completed:
            delete_stored(upload.file_id)
        self.completed.clear()


REFUSED_ATTR = "haven_upload_refused"


def upload_refused(request: Any) -> bool:
    """Did the default handler refuse a file in this request's body?"""
    return bool(getattr(request, REFUSED_ATTR, False))


class RefusingUploadHandler(FileUploadHandler):
    """The site-wide default: refuse any file a view did not explicitly arrange to encrypt.

    Django's default handlers keep small uploads in memory and write large ones to a
    temporary file in plaintext; with this as the only default, no view can do that by
    accident.
    """

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        # Views that take no files answer a request that carried one with a clear refusal.
        setattr(self.request, REFUSED_ATTR, True)
        raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        raise StopUpload(connection_reset=True)

    def file_complete(self, file_size: int) -> None:
        return None
