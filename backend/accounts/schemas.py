"""Request and response bodies of the accounts slice."""

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from backend.core.schemas import Body, Nir, NirOrRpps, Out, Rpps

Code6 = Annotated[str, msgspec.Meta(min_length=6, max_length=6, pattern=r"^\d{6}$")]


class ActivationIn(Body):
    nir: Nir
    activation_code: Annotated[str, msgspec.Meta(max_length=40)]
    birth_date: date


class ProActivationIn(Body):
    rpps: Rpps
    activation_code: Annotated[str, msgspec.Meta(max_length=40)]


class LoginIn(Body):
    identifier: NirOrRpps
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    kind: Literal["citizen", "pro"] = "citizen"


class TotpIn(Body):
    code: Code6


class ReauthIn(Body):
    """Prove the owner again: the current password and a TOTP code."""

    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    code: Code6


class PasswordIn(Body):
    password: Annotated[str, msgspec.Meta(min_length=12, max_length=256)]


class TotpEnrollment(Out):
    totp_secret: str
    otpauth_uri: str
    qr: str


class WebAuthnOptions(Out):
    challenge_id: UUID
    options: dict[str, Any]


class PasskeyRegisterIn(Body):
    challenge_id: UUID
    credential: dict[str, Any]
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""


class PasskeyLoginIn(Body):
    challenge_id: UUID
    credential: dict[str, Any]


class PasskeyOut(Out):
    id: UUID
    label: str
    created_at: datetime
    last_used_at: datetime | None = None


class SessionOut(Out):
    id: str
    device: str
    created_at: datetime
    last_seen_at: datetime
    current: bool


class SecurityOut(Out):
    password_set: bool
    totp_enabled: bool
    passkeys: list[PasskeyOut]
    sessions: list[SessionOut]


class LoggedOut(Out):
    closed_sessions: int
