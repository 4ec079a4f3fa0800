"""Document tables: the record's documents (metadata; the bytes live in the blob store)."""

from piccolo.columns import UUID, Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.identity.tables import InsuredPerson
from backend.professionals.tables import Professional


class Document(Table, tablename="document"):
    """One version of a health document in a citizen's record."""

    id = UUID(primary_key=True)
    person = ForeignKey(references=InsuredPerson, index=True)
    type_code = Varchar(length=40)
    category = Varchar(length=20, index=True)
    title = Varchar(length=200)
    search_text = Varchar(length=200)  # title folded for search (lower case, no accents)
    care_date = Date(index=True)
    author_professional = ForeignKey(references=Professional, null=True, default=None, index=True)
    author_label = Varchar(length=200)
    author_search = Varchar(length=200, default="")  # author folded for search
    structure_name = Varchar(length=200, null=True, default=None)
    source = Varchar(length=12)  # citizen | professional | operator
    added_by = Varchar(length=200)  # who did it, "X pour Y" when on behalf of someone
    media_type = Varchar(length=40)
    filename = Varchar(length=120)
    size = Integer()
    sha256 = Varchar(length=64)
    blob_id = Varchar(length=64, unique=True)
    wrapped_key = Text()
    version = Integer(default=1)
    previous_version = UUID(null=True, default=None)
    status = Varchar(length=10, default="active")  # active | replaced | archived | deleted
    masked = Boolean(default=False)  # hidden by the citizen from professionals
    hidden_from_guardians = Boolean(default=False)  # a minor's secret
    patient_visible_after = Timestamptz(null=True, default=None)  # not announced to the patient yet
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class UploadReceipt(Table, tablename="upload_receipt"):
    """An Idempotency-Key already answered: a retried upload returns the same document."""

    key = Varchar(length=64, primary_key=True)  # hash of account + client key
    document = UUID()
    request_hash = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
