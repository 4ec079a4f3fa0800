"""Access tables: delegations (card presentation today, caregiver scopes next) and access events."""

from piccolo.columns import UUID, Array, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.identity.tables import InsuredPerson


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
    actor_kind = Varchar(length=12)  # pro | delegate | parent | emergency | app
    actor_id = Varchar(length=36)
    actor_label = Varchar(length=200)
    on_behalf_of = Varchar(length=200, null=True, default=None)
    action = Varchar(length=40)
    resource = Varchar(length=100, default="")
    purpose = Text(default="")
    outcome = Varchar(length=10)  # allowed | refused
    created_at = Timestamptz(default=TimestamptzNow())
