"""The Actor (who is calling, for whom) and how a request's session becomes one."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from backend.core import database
from backend.core.errors import Forbidden, ReauthenticationRequired, Unauthenticated
from backend.core.settings import Settings

SESSION_COOKIE = "carnet_session"


def session_cookie_name(settings: Settings) -> str:
    """``__Host-`` prefixed over https: Secure, host-only, path ``/``, never set by a subdomain."""
    return f"__Host-{SESSION_COOKIE}" if settings.secure_cookies else SESSION_COOKIE


TOUCH_EVERY = timedelta(seconds=60)
REAUTH_WINDOW = timedelta(minutes=5)  # sensitive changes need a proof of the owner this recent


def utcnow() -> datetime:
    return datetime.now(UTC)


def session_key(token: str) -> str:
    """Sessions are stored under the SHA-256 of the cookie token, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated caller. Services take it and scope every query by it."""

    account_id: UUID
    kind: str  # citizen | pro
    session_id: str
    stage: str
    person_id: UUID | None = None
    professional_id: UUID | None = None
    authenticated_at: datetime | None = None  # when the session last proved its owner

    @property
    def is_fresh(self) -> bool:
        """The owner proved themself within :data:`REAUTH_WINDOW` (or is activating right now)."""
        if self.stage == "enrolling":
            return True
        return self.authenticated_at is not None and utcnow() - self.authenticated_at <= REAUTH_WINDOW

    @property
    def is_citizen(self) -> bool:
        return self.kind == "citizen"

    @property
    def is_pro(self) -> bool:
        return self.kind == "pro"


async def load_actor(token: str | None, idle_seconds: int) -> Actor | None:
    """Resolve a session cookie into an Actor, expiring idle and old sessions.

    The last-seen time is written at most once a minute so that reads stay reads.
    The ``user_session`` and ``account`` tables belong to the accounts slice; this
    hot path reads and touches them with hand-written SQL so that core imports no slice.
    """
    if not token or len(token) > 100:
        return None
    key = session_key(token)
    # Hot path (every authenticated request): one hand-written join instead of a built query.
    rows = await database.fetch(
        "SELECT s.stage, s.last_seen_at, s.expires_at, s.authenticated_at, a.id AS account_id, a.kind, "
        "a.person AS person_id, a.professional AS professional_id "
        "FROM user_session s JOIN account a ON a.id = s.account WHERE s.id = {}",
        key,
    )
    row = rows[0] if rows else None
    if row is None:
        return None
    now = utcnow()
    if row["expires_at"] <= now or row["last_seen_at"] + timedelta(seconds=idle_seconds) <= now:
        await database.execute("DELETE FROM user_session WHERE id = {}", key)
        return None
    if now - row["last_seen_at"] > TOUCH_EVERY:
        await database.execute("UPDATE user_session SET last_seen_at = {} WHERE id = {}", now, key)
    return Actor(
        account_id=row["account_id"],
        kind=row["kind"],
        session_id=key,
        stage=row["stage"],
        person_id=row["person_id"],
        professional_id=row["professional_id"],
        authenticated_at=row["authenticated_at"],
    )


async def _actor_for(request: Request, settings: Settings, stages: tuple[str, ...]) -> Actor:
    token = request.cookies.get(session_cookie_name(settings))
    actor = await load_actor(token, settings.session_idle_seconds)
    if actor is None or actor.stage not in stages:
        raise Unauthenticated()
    return actor


async def provide_actor(request: Request, settings: Settings) -> Actor:
    """Dependency: a fully logged-in actor (two factors passed).

    It depends on ``settings`` so that the two are resolved one after the other:
    Litestar resolves sibling dependencies in a task group, a measurable cost here.
    """
    return await _actor_for(request, settings, ("active",))


async def provide_enrolling_actor(request: Request, settings: Settings) -> Actor:
    """Dependency: an activation or logged-in actor, with no freshness asked (logging out)."""
    return await _actor_for(request, settings, ("enrolling", "active"))


def _require_fresh(actor: Actor) -> Actor:
    if not actor.is_fresh:
        raise ReauthenticationRequired()
    return actor


async def provide_fresh_actor(request: Request, settings: Settings) -> Actor:
    """Dependency: a logged-in actor who proved themself within the last minutes.

    Delegations, passkey removal or closing the space need a recent proof
    (login, or ``/api/auth/reauth``): a stolen session alone cannot do it.
    An activation session is refused here: it has proved a letter's code, not
    the owner's credentials.

    Raises:
        Unauthenticated: no fully logged-in session.
        ReauthenticationRequired: the session is valid but its last proof is too old.
    """
    return _require_fresh(await _actor_for(request, settings, ("active",)))


async def provide_credential_actor(request: Request, settings: Settings) -> Actor:
    """Dependency: an actor who may register credentials (password, TOTP, passkeys).

    Either an activation session (the letter's code was just proved) or a
    logged-in session whose last proof is within :data:`REAUTH_WINDOW`.

    Raises:
        Unauthenticated: no enrolment or logged-in session.
        ReauthenticationRequired: the logged-in session's last proof is too old.
    """
    return _require_fresh(await _actor_for(request, settings, ("enrolling", "active")))


async def provide_pending_actor(request: Request, settings: Settings) -> Actor:
    """Dependency: an actor that passed the first factor and owes the TOTP code."""
    return await _actor_for(request, settings, ("totp",))


def require_pro(actor: Actor) -> None:
    """Coarse check for professional endpoints (the services still scope every query)."""
    if not actor.is_pro:
        raise Forbidden("Réservé aux professionnels de santé.", detail_en="Health professionals only.")


def require_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: the operator's bearer token (from the data directory's secrets)."""
    expected = connection.app.state.settings.secrets.admin_token
    header = connection.headers.get("authorization", "")
    given = header.removeprefix("Bearer ").strip()
    if not header.startswith("Bearer ") or not hmac.compare_digest(given, expected):
        raise Forbidden("Réservé à l'opérateur.", detail_en="Operator only.")
