"""Access tables: delegations (card presentation today, caregiver scopes next) and access events."""

from piccolo.columns import UUID, Array, Boolean, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.identity.tables import InsuredPerson
from backend.professionals.tables import Professional


class Delegation(Table, tablename="delegation"):
    """A citizen lets a trusted person act for them, with scopes, until an end date."""

    id = UUID(primary_key=True)
    owner = ForeignKey(references=InsuredPerson, index=True)
    delegate = ForeignKey(references=InsuredPerson, null=True, default=None, index=True)
    label = Varchar(length=100)
    scopes = Array(base_column=Varchar(length=30))
    invitation_hash = Varchar(length=64, unique=True)
    ends_at = Timestamptz()
    created_at = Timestamptz(default=TimestamptzNow())
    accepted_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class AccessEvent(Table, tablename="access_event"):
    """Who touched whose data, how, and with what outcome (the access history)."""

    id = Serial(primary_key=True)
    person = ForeignKey(references=InsuredPerson, index=True)
    actor_kind = Varchar(length=12)  # pro | emergency | delegate | parent | self | operator
    actor_id = Varchar(length=36)
    actor_label = Varchar(length=200)
    on_behalf_of = Varchar(length=200, null=True, default=None)
    action = Varchar(length=40)
    resource = Varchar(length=100, default="")
    purpose = Text(default="")
    outcome = Varchar(length=10)  # allowed | refused
    hidden_from_guardians = Boolean(default=False)  # about a minor's secret: guardians never see it
    created_at = Timestamptz(default=TimestamptzNow())
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64, unique=True)


class CareRelation(Table, tablename="care_relation"):
    """Presumed consent: the registered GP (médecin traitant) or a professional the citizen granted."""

    id = UUID(primary_key=True)
    person = ForeignKey(references=InsuredPerson, index=True)
    professional = ForeignKey(references=Professional, index=True)
    role = Varchar(length=8)  # gp | granted
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class Block(Table, tablename="professional_block"):
    """A professional the citizen blocked: no access at all, with or without a code."""

    id = UUID(primary_key=True)
    person = ForeignKey(references=InsuredPerson, index=True)
    professional = ForeignKey(references=Professional, index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class TemporaryAccess(Table, tablename="temporary_access"):
    """A one-time code the citizen shares; the professional who redeems it gets access until expiry."""

    id = UUID(primary_key=True)
    person = ForeignKey(references=InsuredPerson, index=True)
    code_hash = Varchar(length=64, unique=True)
    label = Varchar(length=100, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    redeemed_by = ForeignKey(references=Professional, null=True, default=None)
    redeemed_at = Timestamptz(null=True, default=None)


class EmergencyAccess(Table, tablename="emergency_access"):
    """Break-glass access declared by a professional, with a written reason, time limited."""

    id = UUID(primary_key=True)
    person = ForeignKey(references=InsuredPerson, index=True)
    professional = ForeignKey(references=Professional, index=True)
    reason = Text()
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()


class ResearchChoice(Table, tablename="research_choice"):
    """Consent to or objection against secondary use of the citizen's data; the rows are the history."""

    id = UUID(primary_key=True)
    person = ForeignKey(references=InsuredPerson, index=True)
    choice = Varchar(length=10)  # consent | objection
    created_at = Timestamptz(default=TimestamptzNow())


class Notification(Table, tablename="notification"):
    """An in-app notice to the citizen (never health data: who and what kind of access only)."""

    id = UUID(primary_key=True)
    person = ForeignKey(references=InsuredPerson, index=True)
    kind = Varchar(length=30)
    text_fr = Varchar(length=300)
    text_en = Varchar(length=300)
    created_at = Timestamptz(default=TimestamptzNow())
    read_at = Timestamptz(null=True, default=None)
