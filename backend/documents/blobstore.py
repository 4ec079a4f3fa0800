"""Encrypted blob storage behind a small async interface.

Every document is sealed with envelope encryption: a fresh random AES-256 data
key per blob encrypts the content (AES-256-GCM, associated data = blob id), and
that data key is itself wrapped with a key-encryption key derived from the
master key. The database keeps the wrapped key, the SHA-256 of the plaintext and
its size (:class:`StoredBlob`); the store keeps only ciphertext.

:class:`EnvelopeCipher` holds the cryptography and knows nothing of files, so an
S3-compatible store can implement :class:`BlobStore` with the same cipher.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Lower-case hex and dashes (a UUID, with or without dashes), starting with a hex
# digit: no dot, no slash, no leading dash, so a blob id can never leave its shard.
BLOB_ID_RE = re.compile(r"[0-9a-f][0-9a-f-]{15,63}")
KEY_BYTES = 32
NONCE_BYTES = 12
FILE_MAGIC = b"CRNBLOB1"  # file format version, checked before decrypting
WRAP_VERSION = b"\x01"  # first byte of a wrapped key, room for master-key rotation
KEK_INFO = b"carnet/documents/blob-key-wrap/v1"
TEMP_SUFFIX = ".tmp"
DIR_MODE = 0o700
FILE_MODE = 0o600


class BlobStoreError(Exception):
    """Base of the blob store's errors."""


class InvalidBlobId(BlobStoreError, ValueError):
    """The blob id does not match :data:`BLOB_ID_RE`."""


class BlobNotFound(BlobStoreError):
    """No blob is stored under this id."""


class BlobIntegrityError(BlobStoreError):
    """The stored blob cannot be decrypted or does not match its recorded hash."""


class StoredBlob(msgspec.Struct, frozen=True, kw_only=True):
    """What the database keeps about a blob, and what :meth:`BlobStore.get` needs.

    Attributes:
        blob_id: the blob's id.
        wrapped_key: the data key wrapped by the master key, base64.
        sha256: hex SHA-256 of the plaintext.
        size: plaintext length in bytes.
    """

    blob_id: str
    wrapped_key: str
    sha256: str
    size: int


@runtime_checkable
class BlobStore(Protocol):
    """Where encrypted documents live (a directory today, S3-compatible later)."""

    async def put(self, blob_id: str, plaintext: bytes) -> StoredBlob:
        """Encrypt and store a blob, replacing any blob with the same id."""
        ...

    async def get(self, blob_id: str, stored: StoredBlob) -> bytes:
        """Return the plaintext after checking it against ``stored``."""
        ...

    async def delete(self, blob_id: str) -> None:
        """Remove a blob; removing a missing blob is not an error."""
        ...

    async def exists(self, blob_id: str) -> bool:
        """Whether a blob is stored under this id."""
        ...

    async def list_ids(self) -> list[str]:
        """Every stored blob id, sorted (for orphan clean-up)."""
        ...


def check_blob_id(blob_id: str) -> str:
    """Return ``blob_id`` if it is a valid id.

    Raises:
        InvalidBlobId: anything but 16 to 64 lower-case hex digits and dashes.
    """
    if not isinstance(blob_id, str) or not BLOB_ID_RE.fullmatch(blob_id):
        raise InvalidBlobId(f"invalid blob id: {blob_id!r}")
    return blob_id


class EnvelopeCipher:
    """AES-256-GCM envelope encryption of blobs.

    The data key is wrapped with AES-GCM rather than AES key wrap (RFC 3394):
    GCM takes associated data, so the wrapped key is bound to its blob id and a
    wrapped key copied onto another row does not open another blob; RFC 3394 has
    no associated data. The key-encryption key is derived from the master key
    with HKDF so that the master key, also used for field encryption, never
    encrypts blob keys directly. Nonces are random: the data key is used once,
    and 96-bit random nonces under the key-encryption key stay far below the
    collision bound for any realistic number of documents.

    Args:
        master_key: 32 bytes.
    """

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise ValueError("the master key must be 32 bytes")
        kdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=KEK_INFO)
        self._kek = AESGCM(kdf.derive(master_key))

    def seal(self, blob_id: str, plaintext: bytes) -> tuple[bytes, str]:
        """Encrypt a blob under a fresh data key.

        Returns:
            The file body (magic, nonce, ciphertext and tag) and the base64 wrapped key.
        """
        aad = blob_id.encode()
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        nonce = os.urandom(NONCE_BYTES)
        body = FILE_MAGIC + nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)
        wrap_nonce = os.urandom(NONCE_BYTES)
        wrapped = WRAP_VERSION + wrap_nonce + self._kek.encrypt(wrap_nonce, data_key, aad)
        return body, base64.b64encode(wrapped).decode()

    def unseal(self, blob_id: str, wrapped_key: str, body: bytes) -> bytes:
        """Decrypt a file body sealed by :meth:`seal`.

        Raises:
            BlobIntegrityError: wrong key, wrong blob id, or altered body or wrapped key.
        """
        aad = blob_id.encode()
        try:
            data_key = self._unwrap(wrapped_key, aad)
            if not body.startswith(FILE_MAGIC):
                raise BlobIntegrityError(f"blob {blob_id}: unknown file format")
            nonce = body[len(FILE_MAGIC) : len(FILE_MAGIC) + NONCE_BYTES]
            sealed = body[len(FILE_MAGIC) + NONCE_BYTES :]
            return AESGCM(data_key).decrypt(nonce, sealed, aad)
        except (InvalidTag, ValueError, binascii.Error) as exc:
            raise BlobIntegrityError(f"blob {blob_id}: decryption failed") from exc

    def _unwrap(self, wrapped_key: str, aad: bytes) -> bytes:
        raw = base64.b64decode(wrapped_key, validate=True)
        if raw[:1] != WRAP_VERSION:
            raise ValueError("unknown wrapped-key version")
        nonce, sealed = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        return self._kek.decrypt(nonce, sealed, aad)


def verify_plaintext(stored: StoredBlob, plaintext: bytes) -> bytes:
    """Return ``plaintext`` if its size and SHA-256 match ``stored``.

    Raises:
        BlobIntegrityError: they do not match.
    """
    digest = hashlib.sha256(plaintext).hexdigest()
    if len(plaintext) != stored.size or not hmac.compare_digest(digest, stored.sha256.lower()):
        raise BlobIntegrityError(f"blob {stored.blob_id}: content does not match its recorded hash")
    return plaintext


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ensure_dir(path: Path, *, parents: bool = False) -> None:
    """Create a 0700 directory if missing, and make its entry durable."""
    if path.is_dir():
        return
    with contextlib.suppress(FileExistsError):  # another writer created it first
        path.mkdir(mode=DIR_MODE, parents=parents)
        os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask
        _fsync_dir(path.parent)


def _write_durably(directory: Path, name: str, body: bytes) -> None:
    """Write a file atomically: temp file, fsync, rename, fsync of the directory."""
    tmp = directory / f".{name}.{secrets.token_hex(8)}{TEMP_SUFFIX}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(directory)


def _is_temp(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)


class DirectoryBlobStore:
    """Blobs as files under ``root``, sharded by the first two characters of their id.

    Files are 0600 and directories 0700. Blocking work (encryption, hashing, file
    I/O) runs in a worker thread so the event loop is never blocked.

    Args:
        root: the storage directory (created on first write).
        master_key: 32 bytes, the key the data keys are wrapped with.
    """

    def __init__(self, root: Path, master_key: bytes) -> None:
        self.root = Path(root)
        self._cipher = EnvelopeCipher(master_key)

    def path_for(self, blob_id: str) -> Path:
        """The file of a blob, after validating its id.

        Raises:
            InvalidBlobId: the id is not valid.
        """
        check_blob_id(blob_id)
        return self.root / blob_id[:2] / blob_id

    async def put(self, blob_id: str, plaintext: bytes) -> StoredBlob:
        """Encrypt and store a blob, atomically replacing one with the same id.

        Returns:
            The metadata to keep in the database; :meth:`get` needs it.
        """
        path = self.path_for(blob_id)
        return await asyncio.to_thread(self._put_sync, path, blob_id, bytes(plaintext))

    def _put_sync(self, path: Path, blob_id: str, plaintext: bytes) -> StoredBlob:
        body, wrapped_key = self._cipher.seal(blob_id, plaintext)
        _ensure_dir(self.root, parents=True)
        _ensure_dir(path.parent)
        _write_durably(path.parent, path.name, body)
        digest = hashlib.sha256(plaintext).hexdigest()
        return StoredBlob(blob_id=blob_id, wrapped_key=wrapped_key, sha256=digest, size=len(plaintext))

    async def get(self, blob_id: str, stored: StoredBlob) -> bytes:
        """Read, decrypt and verify a blob.

        Args:
            blob_id: the blob's id.
            stored: the metadata returned by :meth:`put` (from the database).

        Raises:
            BlobNotFound: no such blob.
            BlobIntegrityError: the blob cannot be decrypted or its hash differs.
            ValueError: ``stored`` describes another blob.
        """
        path = self.path_for(blob_id)
        if stored.blob_id != blob_id:
            raise ValueError(f"metadata of blob {stored.blob_id} given for blob {blob_id}")
        return await asyncio.to_thread(self._get_sync, path, stored)

    def _get_sync(self, path: Path, stored: StoredBlob) -> bytes:
        try:
            body = path.read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(f"blob {stored.blob_id} not found") from exc
        return verify_plaintext(stored, self._cipher.unseal(stored.blob_id, stored.wrapped_key, body))

    async def delete(self, blob_id: str) -> None:
        """Remove a blob; removing a missing blob is not an error."""
        path = self.path_for(blob_id)
        await asyncio.to_thread(self._delete_sync, path)

    @staticmethod
    def _delete_sync(path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    async def exists(self, blob_id: str) -> bool:
        """Whether a blob is stored under this id."""
        path = self.path_for(blob_id)
        return await asyncio.to_thread(path.is_file)

    async def list_ids(self) -> list[str]:
        """Every stored blob id, sorted; temp files and stray names are ignored."""
        return await asyncio.to_thread(self._list_sync)

    def _shards(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [p for p in self.root.iterdir() if len(p.name) == 2 and p.is_dir()]

    def _list_sync(self) -> list[str]:
        ids = [
            f.name
            for shard in self._shards()
            for f in shard.iterdir()
            if BLOB_ID_RE.fullmatch(f.name) and f.name[:2] == shard.name and f.is_file()
        ]
        return sorted(ids)

    async def cleanup_temp(self, older_than_seconds: float = 3600) -> int:
        """Remove temp files left by interrupted writes.

        Args:
            older_than_seconds: only files not modified for this long, so that
                writes still in progress are left alone.

        Returns:
            How many files were removed.
        """
        return await asyncio.to_thread(self._cleanup_sync, older_than_seconds)

    def _cleanup_sync(self, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        removed = 0
        for shard in self._shards():
            for f in shard.iterdir():
                if _is_temp(f) and f.stat().st_mtime < cutoff:
                    f.unlink(missing_ok=True)
                    removed += 1
        return removed
