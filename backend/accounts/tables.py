"""Account tables: credentials, passkeys, sessions, WebAuthn challenges and login throttles."""

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.identity.tables import InsuredPerson
from backend.professionals.tables import Professional


class Account(Table, tablename="account"):
    """Who can log in: a citizen (by NIR) or a professional (by RPPS)."""

    id = UUID(primary_key=True)
    kind = Varchar(length=8)  # citizen | pro
    login_key = Varchar(length=64, unique=True)  # keyed hash of kind + identifier
    person = ForeignKey(references=InsuredPerson, null=True, default=None, index=True)
    professional = ForeignKey(references=Professional, null=True, default=None, index=True)
    password_hash = Varchar(length=200, null=True, default=None)
    totp_secret = Varchar(length=200, null=True, default=None)  # AES-GCM sealed
    totp_confirmed = Boolean(default=False)
    totp_last_step = Integer(default=0)
    # A new password and TOTP secret wait here until a code from the new secret confirms them.
    pending_password_hash = Varchar(length=200, null=True, default=None)
    pending_totp_secret = Varchar(length=200, null=True, default=None)  # AES-GCM sealed
    created_at = Timestamptz(default=TimestamptzNow())


class Passkey(Table, tablename="passkey"):
    id = UUID(primary_key=True)
    account = ForeignKey(references=Account, index=True)
    credential_id = Varchar(length=700, unique=True)  # base64url
    public_key = Text()  # base64url COSE key
    sign_count = Integer(default=0)
    transports = Varchar(length=100, default="")
    label = Varchar(length=100, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)


class UserSession(Table, tablename="user_session"):
    """A login session. The cookie holds a random token; the row is keyed by its hash."""

    id = Varchar(length=64, primary_key=True)
    account = ForeignKey(references=Account, index=True)
    stage = Varchar(length=10)  # enrolling | totp | active
    device = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    authenticated_at = Timestamptz(null=True, default=None)  # last proof of the owner (re-authentication)


class WebAuthnChallenge(Table, tablename="webauthn_challenge"):
    id = UUID(primary_key=True)
    challenge = Varchar(length=100)
    purpose = Varchar(length=12)  # register | login
    account = UUID(null=True, default=None)
    expires_at = Timestamptz()
    client = Varchar(length=64, null=True, default=None)  # keyed hash of the client address (anonymous)


class LoginThrottle(Table, tablename="login_throttle"):
    """Failure counters per login key and per client address; they live in the database."""

    key = Varchar(length=64, primary_key=True)
    failures = Integer(default=0)
    last_failure_at = Timestamptz(default=TimestamptzNow())
    blocked_until = Timestamptz(null=True, default=None)
