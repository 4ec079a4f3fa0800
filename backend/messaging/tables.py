"""Messaging tables: threads, their messages and the messages' attachments.

Texts, subjects, attachment names and reference fields are stored sealed
(AES-256-GCM field encryption, see ``messaging/sealing.py``); attachment bytes
live in the encrypted blob store. Only ``messaging/repository.py`` queries these
tables.
"""

from piccolo.columns import UUID, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.identity.tables import InsuredPerson
from backend.professionals.tables import Professional


class MessageThread(Table, tablename="message_thread"):
    """A conversation between a citizen's profile and a structure (a pharmacy) or a professional."""

    id = UUID(primary_key=True)
    person = ForeignKey(references=InsuredPerson, index=True)
    structure = UUID(null=True, default=None)  # the pharmacy whose members share the inbox
    professional = ForeignKey(references=Professional, null=True, default=None)  # or one professional
    counterpart_label = Varchar(length=300)  # the structure's or the professional's name
    subject = Text(null=True, default=None)  # sealed
    started_by = Varchar(length=10)  # citizen | pro
    started_by_account = UUID()
    status = Varchar(length=10, default="open")  # open | closed
    last_seq = Integer(default=0)  # the number of the thread's last message
    citizen_read_seq = Integer(default=0)  # read marker of the citizen side
    citizen_read_at = Timestamptz(null=True, default=None)
    pro_read_seq = Integer(default=0)  # read marker of the professional side (shared by a pharmacy)
    pro_read_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    closed_by = Varchar(length=300, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    last_message_at = Timestamptz(default=TimestamptzNow())


class ThreadMessage(Table, tablename="thread_message"):
    """One message of a thread, numbered from 1 in its thread."""

    id = UUID(primary_key=True)
    thread = ForeignKey(references=MessageThread)
    seq = Integer()
    side = Varchar(length=10)  # citizen | pro
    author_account = UUID()
    author_kind = Varchar(length=12)  # self | parent | delegate | pro
    author_professional = ForeignKey(references=Professional, null=True, default=None)
    author_label = Varchar(length=300)
    on_behalf_of = Varchar(length=300, null=True, default=None)  # "X pour Y": the profile written for
    body = Text()  # sealed
    created_at = Timestamptz(default=TimestamptzNow())


class MessageAttachment(Table, tablename="message_attachment"):
    """A file (an upload, or a copy of a record's document) or a reference (a prescription)."""

    id = UUID(primary_key=True)
    message = ForeignKey(references=ThreadMessage)
    thread = ForeignKey(references=MessageThread)
    ordinal = Integer()
    kind = Varchar(length=12)  # file | document | reference
    media_type = Varchar(length=40, null=True, default=None)
    filename = Text(null=True, default=None)  # sealed
    size = Integer(null=True, default=None)
    sha256 = Varchar(length=64, null=True, default=None)
    blob_id = Varchar(length=64, null=True, default=None, unique=True)
    wrapped_key = Text(null=True, default=None)
    source_document = UUID(null=True, default=None)  # the record's document this file copies
    ref_kind = Varchar(length=20, null=True, default=None)  # prescription
    ref = Text(null=True, default=None)  # sealed
    title = Text(null=True, default=None)  # sealed
    created_at = Timestamptz(default=TimestamptzNow())
