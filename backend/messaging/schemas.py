"""Request and response bodies of the messaging slice."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar.datastructures import UploadFile

from backend.core.schemas import Body, Out

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=5000,
                                   description="The message: 1 to 5,000 characters.")]
Subject = Annotated[str, msgspec.Meta(max_length=200, description="The thread's subject (optional).")]
DocumentIds = Annotated[list[UUID], msgspec.Meta(
    max_length=5, description="Documents of the record to attach: each is copied into the message.")]
Side = Literal["citizen", "pro"]


class StartThreadIn(Body):
    """The citizen side writes to a pharmacy."""

    structure_id: UUID
    text: Text
    subject: Subject | None = None
    document_ids: DocumentIds = msgspec.field(default_factory=list)


class ProStartThreadIn(Body):
    """A professional with a basis of access writes to a patient."""

    person_id: UUID
    text: Text
    subject: Subject | None = None


class MessageIn(Body):
    text: Text
    document_ids: DocumentIds = msgspec.field(default_factory=list)


@dataclass
class MessageUpload:
    """Multipart form: the message's text and one photo (JPEG, PNG) or PDF."""

    text: str
    file: UploadFile


class CounterpartOut(Out):
    kind: Literal["structure", "professional"]
    id: UUID
    name: str


class ReadMarkerOut(Out):
    read_seq: int  # the side has read every message up to this number
    read_at: datetime | None


class ReadMarkersOut(Out):
    citizen: ReadMarkerOut
    pro: ReadMarkerOut


class AttachmentOut(Out):
    id: UUID
    source: Literal["file", "document"]  # sent with the message, or copied from the record
    media_type: str
    filename: str
    size: int


class ReferenceOut(Out):
    kind: Literal["prescription"]
    ref: str
    title: str


class MessageOut(Out):
    id: UUID
    seq: int
    side: Side
    mine: bool  # written by the caller's side
    author: str
    on_behalf_of: str | None  # the profile a parent or a caregiver wrote for ("X pour Y")
    sent_at: datetime
    text: str
    read_by_recipient: bool  # the other side's read marker has passed this message ("lu")
    attachments: list[AttachmentOut]
    references: list[ReferenceOut]


class ThreadSummaryOut(Out):
    id: UUID
    person_id: UUID
    person_name: str
    counterpart: CounterpartOut
    subject: str | None
    status: Literal["open", "closed"]
    started_by: Side
    side: Side  # the caller's side
    unread: int
    read_markers: ReadMarkersOut
    created_at: datetime
    last_message_at: datetime
    closed_at: datetime | None
    closed_by: str | None


class ThreadOut(ThreadSummaryOut):
    messages: list[MessageOut]  # newest first
    next_before: str | None  # the ``before`` cursor of the next (older) page, if any


class StructureRefOut(Out):
    id: UUID
    name: str
    kind: str


class InboxOut(Out):
    items: list[ThreadSummaryOut]
    unread_total: int
    next_before: datetime | None  # the ``before`` cursor of the next page, if any


class ProInboxOut(InboxOut):
    structure: StructureRefOut | None  # the structure whose shared inbox this includes


class ReadOut(Out):
    thread_id: UUID
    side: Side
    read_seq: int
    read_at: datetime
    unread: int


class ProfileUnreadOut(Out):
    person_id: UUID
    unread: int


class UnreadOut(Out):
    total: int
    profiles: list[ProfileUnreadOut]  # a citizen's profiles (empty for a professional)


EVENT_DATA_SCHEMA = {
    "type": "object",
    "description": "Ids and counts only: never a text, a subject or a name.",
    "properties": {
        "thread_id": {"type": "string", "format": "uuid"},
        "message_id": {"type": "string", "format": "uuid"},
        "unread": {"type": "integer", "minimum": 0, "description": "The caller's unread total."},
        "side": {"type": "string", "enum": ["citizen", "pro"], "description": "The side that read."},
        "status": {"type": "string", "enum": ["closed"]},
    },
    "additionalProperties": False,
}


class StreamEventOut(Out):
    """One Server-Sent Event of ``GET /api/messaging/events`` (its ``event:`` and ``data:`` lines)."""

    event: Literal["ready", "message", "read", "thread", "resync"]
    data: Annotated[str, msgspec.Meta(extra_json_schema={
        "description": "A JSON object: ids and counts only.",
        "extra": {"contentMediaType": "application/json", "contentSchema": EVENT_DATA_SCHEMA}})]
