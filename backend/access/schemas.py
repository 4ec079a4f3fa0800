"""Request and response bodies of the access slice."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from backend.core.schemas import Body, Out


class DelegationIn(Body):
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    scopes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=10)]
    ends_at: datetime


class DelegationOut(Out):
    id: UUID
    label: str
    scopes: list[str]
    ends_at: datetime
    created_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    state: str
    invitation_code: str | None = None
    owner: UUID | None = None


class AcceptIn(Body):
    code: Annotated[str, msgspec.Meta(min_length=4, max_length=40)]


class AccessEventOut(Out):
    actor_kind: str
    actor_label: str
    on_behalf_of: str | None
    action: str
    purpose: str
    outcome: str
    created_at: datetime
