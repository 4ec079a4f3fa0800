"""Encrypted blob store: envelope encryption, integrity, id validation, durability details."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import time
import uuid

import pytest

from backend.documents.blobstore import (
    BlobIntegrityError,
    BlobNotFound,
    BlobStore,
    DirectoryBlobStore,
    InvalidBlobId,
    StoredBlob,
    check_blob_id,
)

MASTER_KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SECRET = "Compte rendu : sérologie VIH négative — Camille INVENTÉE. ".encode() * 50


@pytest.fixture
def store(tmp_path) -> DirectoryBlobStore:
    return DirectoryBlobStore(tmp_path / "blobs", MASTER_KEY)


def new_id() -> str:
    return str(uuid.uuid4())


def test_directory_store_implements_the_interface(store):
    assert isinstance(store, BlobStore)


async def test_round_trip_and_metadata(store):
    blob_id = new_id()
    stored = await store.put(blob_id, SECRET)
    assert stored.blob_id == blob_id
    assert stored.size == len(SECRET)
    assert stored.sha256 == hashlib.sha256(SECRET).hexdigest()
    assert await store.get(blob_id, stored) == SECRET


async def test_empty_blob_round_trip(store):
    blob_id = new_id()
    stored = await store.put(blob_id, b"")
    assert await store.get(blob_id, stored) == b""


async def test_file_on_disk_holds_no_plaintext(store):
    blob_id = new_id()
    await store.put(blob_id, SECRET)
    path = store.root / blob_id[:2] / blob_id
    body = path.read_bytes()
    assert SECRET not in body
    assert "sérologie".encode() not in body
    assert len(body) > len(SECRET)  # nonce and tag added, nothing compressed away


async def test_same_content_gives_different_ciphertexts_and_keys(store):
    first, second = new_id(), new_id()
    a = await store.put(first, SECRET)
    b = await store.put(second, SECRET)
    assert a.wrapped_key != b.wrapped_key
    assert a.sha256 == b.sha256
    body_a = (store.root / first[:2] / first).read_bytes()
    body_b = (store.root / second[:2] / second).read_bytes()
    assert body_a[-200:] != body_b[-200:]


async def test_tampered_ciphertext_byte_is_detected(store):
    blob_id = new_id()
    stored = await store.put(blob_id, SECRET)
    path = store.root / blob_id[:2] / blob_id
    body = bytearray(path.read_bytes())
    body[len(body) // 2] ^= 0x01
    path.write_bytes(bytes(body))
    with pytest.raises(BlobIntegrityError):
        await store.get(blob_id, stored)


async def test_tampered_file_header_is_detected(store):
    blob_id = new_id()
    stored = await store.put(blob_id, SECRET)
    path = store.root / blob_id[:2] / blob_id
    path.write_bytes(b"X" + path.read_bytes()[1:])
    with pytest.raises(BlobIntegrityError):
        await store.get(blob_id, stored)


async def test_truncated_file_is_detected(store):
    blob_id = new_id()
    stored = await store.put(blob_id, SECRET)
    path = store.root / blob_id[:2] / blob_id
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(BlobIntegrityError):
        await store.get(blob_id, stored)


async def test_wrong_expected_hash_is_refused(store):
    blob_id = new_id()
    stored = await store.put(blob_id, SECRET)
    wrong = StoredBlob(
        blob_id=blob_id,
        wrapped_key=stored.wrapped_key,
        sha256=hashlib.sha256(b"something else").hexdigest(),
        size=stored.size,
    )
    with pytest.raises(BlobIntegrityError):
        await store.get(blob_id, wrong)


async def test_wrong_expected_size_is_refused(store):
    blob_id = new_id()
    stored = await store.put(blob_id, SECRET)
    wrong = StoredBlob(blob_id=blob_id, wrapped_key=stored.wrapped_key, sha256=stored.sha256, size=1)
    with pytest.raises(BlobIntegrityError):
        await store.get(blob_id, wrong)


async def test_another_master_key_cannot_read(store, tmp_path):
    blob_id = new_id()
    stored = await store.put(blob_id, SECRET)
    intruder = DirectoryBlobStore(store.root, OTHER_KEY)
    with pytest.raises(BlobIntegrityError):
        await intruder.get(blob_id, stored)


async def test_wrapped_key_is_bound_to_its_blob(store):
    first, second = new_id(), new_id()
    a = await store.put(first, SECRET)
    b = await store.put(second, b"other document")
    # Second file, first row's key: the key-wrap associated data (blob id) differs.
    swapped = StoredBlob(blob_id=second, wrapped_key=a.wrapped_key, sha256=b.sha256, size=b.size)
    with pytest.raises(BlobIntegrityError):
        await store.get(second, swapped)
    # Files swapped on disk under the right keys: the document's associated data differs.
    p1, p2 = store.root / first[:2] / first, store.root / second[:2] / second
    p1.write_bytes(p2.read_bytes())
    with pytest.raises(BlobIntegrityError):
        await store.get(first, a)


async def test_tampered_wrapped_key_is_detected(store):
    blob_id = new_id()
    stored = await store.put(blob_id, SECRET)
    raw = bytearray(base64.b64decode(stored.wrapped_key))
    raw[-1] ^= 0x80
    bad = StoredBlob(
        blob_id=blob_id, wrapped_key=base64.b64encode(bytes(raw)).decode(), sha256=stored.sha256, size=stored.size
    )
    with pytest.raises(BlobIntegrityError):
        await store.get(blob_id, bad)
    garbage = StoredBlob(blob_id=blob_id, wrapped_key="not base64!", sha256=stored.sha256, size=stored.size)
    with pytest.raises(BlobIntegrityError):
        await store.get(blob_id, garbage)


async def test_metadata_of_another_blob_is_a_programming_error(store):
    first, second = new_id(), new_id()
    a = await store.put(first, SECRET)
    await store.put(second, SECRET)
    with pytest.raises(ValueError):
        await store.get(second, a)


async def test_missing_blob(store):
    blob_id = new_id()
    stored = StoredBlob(blob_id=blob_id, wrapped_key="", sha256="", size=0)
    with pytest.raises(BlobNotFound):
        await store.get(blob_id, stored)
    assert not await store.exists(blob_id)


def test_master_key_must_be_32_bytes(tmp_path):
    with pytest.raises(ValueError):
        DirectoryBlobStore(tmp_path, b"short")


BAD_IDS = [
    "",
    "../x",
    "a/b",
    "../../../../etc/passwd",
    "0123456789abcdef/../../x",
    "0123456789ABCDEF",  # upper case
    "0123456789abcdeg",  # not hex
    "0123456789abcdef\n",
    "0123456789abcde",  # 15 characters
    "a" * 65,
    "-123456789abcdef0",  # leading dash
    ".0123456789abcdef",
    "0123456789abcdef.tmp",
    "０１２３４５６７８９ａｂｃｄｅｆ",  # full-width digits
]


@pytest.mark.parametrize("blob_id", BAD_IDS)
async def test_invalid_ids_are_refused_everywhere(store, blob_id, tmp_path):
    with pytest.raises(InvalidBlobId):
        await store.put(blob_id, b"x")
    with pytest.raises(InvalidBlobId):
        await store.get(blob_id, StoredBlob(blob_id=blob_id, wrapped_key="", sha256="", size=0))
    with pytest.raises(InvalidBlobId):
        await store.exists(blob_id)
    with pytest.raises(InvalidBlobId):
        await store.delete(blob_id)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written anywhere


@pytest.mark.parametrize("blob_id", [str(uuid.uuid4()), uuid.uuid4().hex, "0" * 16, "f" * 64])
def test_valid_ids(blob_id):
    assert check_blob_id(blob_id) == blob_id


async def test_files_are_sharded_by_the_first_two_characters(store):
    blob_id = "ab" + uuid.uuid4().hex
    await store.put(blob_id, b"x")
    assert (store.root / "ab" / blob_id).is_file()


async def test_delete_exists_and_list_ids(store):
    assert await store.list_ids() == []  # root not created yet
    ids = sorted(new_id() for _ in range(5))
    for blob_id in ids:
        await store.put(blob_id, blob_id.encode())
    assert await store.list_ids() == ids
    assert await store.exists(ids[0])
    await store.delete(ids[0])
    assert not await store.exists(ids[0])
    assert await store.list_ids() == ids[1:]
    await store.delete(ids[0])  # deleting twice is not an error
    assert await store.list_ids() == ids[1:]


async def test_put_replaces_an_existing_blob(store):
    blob_id = new_id()
    await store.put(blob_id, b"first")
    stored = await store.put(blob_id, b"second")
    assert await store.get(blob_id, stored) == b"second"
    assert await store.list_ids() == [blob_id]


async def test_list_ignores_temp_files_and_stray_names(store):
    blob_id = new_id()
    await store.put(blob_id, b"x")
    shard = store.root / blob_id[:2]
    (shard / f".{blob_id}.0123abcd.tmp").write_bytes(b"partial")
    (shard / "README").write_text("stray")
    other_shard = "zz" + blob_id[2:]  # a valid-looking name in the wrong shard
    (shard / other_shard).write_bytes(b"misplaced")
    assert await store.list_ids() == [blob_id]


async def test_cleanup_temp_removes_only_old_leftovers(store):
    blob_id = new_id()
    await store.put(blob_id, b"x")
    shard = store.root / blob_id[:2]
    old = shard / f".{blob_id}.00000000.tmp"
    fresh = shard / f".{blob_id}.11111111.tmp"
    old.write_bytes(b"crash leftover")
    fresh.write_bytes(b"write in progress")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert await store.cleanup_temp(older_than_seconds=60) == 1
    assert not old.exists()
    assert fresh.exists()
    assert (shard / blob_id).exists()  # the blob itself is never a temp file
    assert await store.list_ids() == [blob_id]


async def test_a_successful_put_leaves_no_temp_file(store):
    blob_id = new_id()
    await store.put(blob_id, SECRET)
    assert [p.name for p in (store.root / blob_id[:2]).iterdir()] == [blob_id]


async def test_permissions_are_private(tmp_path):
    # A umask that even strips the owner's write bit: modes are set explicitly.
    old_umask = os.umask(0o277)
    try:
        store = DirectoryBlobStore(tmp_path / "blobs", MASTER_KEY)
        blob_id = new_id()
        await store.put(blob_id, SECRET)
    finally:
        os.umask(old_umask)
    path = store.root / blob_id[:2] / blob_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
