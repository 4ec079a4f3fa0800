"""The ingestion pipeline's body handling: spooled files are size-checked before they are loaded."""

from __future__ import annotations

import io
import tempfile

import pytest

from backend.core.errors import InvalidRequest, PayloadTooLarge, Unprocessable
from backend.documents.ingest import read_body, receipt_key


class NoRead(io.RawIOBase):
    """A large spooled body whose content must never be read."""

    def __init__(self, size: int) -> None:
        self.size, self.pos = size, 0

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        raise AssertionError("an oversized body was loaded")


def test_an_oversized_spooled_body_is_refused_without_being_read():
    with pytest.raises(PayloadTooLarge):
        read_body(NoRead(64_000_000), 20_000_000)


def test_an_empty_spooled_body_is_a_clear_422():
    with pytest.raises(Unprocessable) as refused:
        read_body(io.BytesIO(b""), 20_000_000)
    assert refused.value.errors[0]["rule"] == "empty"


def test_a_spooled_body_on_disk_is_read_whole():
    with tempfile.SpooledTemporaryFile(max_size=1024) as spooled:
        spooled.write(b"x" * 5000)  # rolled over to disk
        assert read_body(spooled, 20_000_000) == b"x" * 5000


def test_idempotency_keys_are_scoped_to_their_owner_and_checked():
    assert receipt_key("a", "k") != receipt_key("b", "k")
    assert receipt_key("a", None) is None
    with pytest.raises(InvalidRequest):
        receipt_key("a", "x" * 201)
