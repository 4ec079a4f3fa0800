"""Account services: activation, password + TOTP, passkeys, sessions."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from uuid import UUID

import pyotp
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from zxcvbn import zxcvbn

from backend.accounts import throttle
from backend.accounts.tables import Account, Passkey, UserSession, WebAuthnChallenge
from backend.core import database
from backend.core.auth import Actor, new_session_token, session_key, utcnow
from backend.core.crypto import (
    FieldCipher,
    hash_password,
    keyed_hash,
    normalise_code,
    verify_password,
)
from backend.core.errors import Conflict, InvalidCredentials, NotFound, TooManyAttempts, Unprocessable
from backend.core.names import display_name
from backend.core.qr import svg_qr
from backend.core.settings import Settings
from backend.identity import activation
from backend.identity.identifiers import normalise_nir
from backend.identity.registry import issue_activation_code

ENROLL_TTL = timedelta(minutes=15)
TOTP_STEP_TTL = timedelta(minutes=5)
CHALLENGE_TTL = timedelta(minutes=5)
MIN_PASSWORD = 12
MIN_SCORE = 3  # zxcvbn: 3 is "safely unguessable"
MAX_OPEN_CHALLENGES = 20  # anonymous passkey challenges per client address

_GENERIC_LOGIN = (
    "Identifiant, mot de passe ou code incorrect.",
    "Wrong identifier, password or code.",
)
_WRONG_TOTP = (
    "Code incorrect ou déjà utilisé : saisissez le code affiché maintenant par votre application "
    "d'authentification.",
    "Wrong or already used code: enter the code your authenticator app shows now.",
)
_GENERIC_ACTIVATION = (
    "NIR, code d'activation ou date de naissance incorrects.",
    "Wrong NIR, activation code or date of birth.",
)


def login_key(settings: Settings, kind: str, identifier: str) -> str:
    """The keyed hash an account is found by (never the raw NIR or RPPS)."""
    ident = normalise_nir(identifier) if kind == "citizen" else identifier.strip()
    return keyed_hash(settings.secrets.hmac_key, f"login:{kind}:{ident}")


# --- sessions ---------------------------------------------------------------


async def open_session(settings: Settings, account_id: UUID, stage: str, device: str) -> str:
    """Create a session row and return the cookie token (a fresh id at every login)."""
    token = new_session_token()
    now = utcnow()
    ttl = {
        "active": timedelta(seconds=settings.session_absolute_seconds),
        "enrolling": ENROLL_TTL,
        "totp": TOTP_STEP_TTL,
    }[stage]
    await UserSession.insert(
        UserSession(
            id=session_key(token),
            account=account_id,
            stage=stage,
            device=device[:200],
            created_at=now,
            last_seen_at=now,
            expires_at=now + ttl,
            authenticated_at=now if stage in ("active", "enrolling") else None,
        )
    )
    return token


async def close_session(session_id: str) -> None:
    await UserSession.delete().where(UserSession.id == session_id)


async def close_all_sessions(actor: Actor) -> int:
    rows = await UserSession.delete().where(UserSession.account == actor.account_id).returning(
        UserSession.id
    )
    return len(rows)


async def list_sessions(actor: Actor) -> list[dict]:
    rows = await UserSession.select(
        UserSession.id, UserSession.device, UserSession.created_at, UserSession.last_seen_at,
        UserSession.stage,
    ).where(UserSession.account == actor.account_id).order_by(UserSession.last_seen_at, ascending=False)
    return [
        {
            "id": r["id"][:16],
            "device": r["device"],
            "created_at": r["created_at"],
            "last_seen_at": r["last_seen_at"],
            "current": r["id"] == actor.session_id,
        }
        for r in rows
        if r["stage"] == "active"
    ]


async def revoke_session(actor: Actor, handle: str) -> None:
    """Close one of the account's sessions, named by the first 16 characters of its id.

    The handle is compared as a plain string, never as a pattern.
    """
    if len(handle) != 16:
        raise NotFound()
    sessions = await UserSession.select(UserSession.id).where(UserSession.account == actor.account_id)
    matching = [r["id"] for r in sessions if r["id"][:16] == handle]
    if len(matching) != 1:
        raise NotFound()
    await UserSession.delete().where(UserSession.id == matching[0])


# --- activation -------------------------------------------------------------


async def _redeem_code(settings: Settings, throttle_key: str, code: str, identity_ok) -> dict:
    """Find an activation code and check it against the identity given with it.

    Every mismatch answers the same generic error (existence is never revealed);
    an expired code is named only when the whole identity matched.
    """
    await throttle.check(throttle_key)
    code_hash = keyed_hash(settings.secrets.hmac_key, f"code:{normalise_code(code)}")
    row = await activation.find(code_hash)
    if row is None or row["used_at"] or not identity_ok(row):
        await throttle.record_failure(throttle_key)
        raise InvalidCredentials(_GENERIC_ACTIVATION[0], detail_en=_GENERIC_ACTIVATION[1])
    if row["expires_at"] <= utcnow():
        raise InvalidCredentials(
            "Ce code d'activation a expiré : demandez un nouveau code.",
            detail_en="This activation code has expired: ask for a new one.",
        )
    await throttle.clear(throttle_key)
    return row


async def activate(settings: Settings, nir: str, code: str, birth_date: date, device: str) -> str:
    """Check NIR + activation code + date of birth and open an enrolment session.

    The code is consumed when the first credential is registered, so an
    interrupted enrolment can be resumed with the same letter.
    """
    nir = normalise_nir(nir)
    key = keyed_hash(settings.secrets.hmac_key, f"activation:{nir}")
    row = await _redeem_code(
        settings, key, code, lambda r: r["nir"] == nir and r["birth_date"] == birth_date
    )
    if row["activated_at"] is not None:
        raise Conflict(
            "Cet espace est déjà activé : connectez-vous.",
            detail_en="This space is already activated: log in.",
        )
    async with database.transaction():
        account = await Account.select(Account.id).where(Account.person == row["person_id"]).first()
        if account is None:
            account_id = (
                await Account.insert(
                    Account(
                        kind="citizen",
                        login_key=login_key(settings, "citizen", nir),
                        person=row["person_id"],
                    )
                ).returning(Account.id)
            )[0]["id"]
        else:
            account_id = account["id"]
        return await open_session(settings, account_id, "enrolling", device)


async def activate_pro(settings: Settings, rpps: str, code: str, device: str) -> str:
    """A professional's first login: RPPS + the activation code issued with the directory import."""
    rpps = rpps.strip()
    key = keyed_hash(settings.secrets.hmac_key, f"activation:pro:{rpps}")
    row = await _redeem_code(settings, key, code, lambda r: r["rpps"] == rpps)
    account = await Account.select(Account.id).where(
        Account.professional == row["professional_id"]
    ).first()
    return await open_session(settings, account["id"], "enrolling", device)


async def open_pro_account(settings: Settings, professional_id: UUID, rpps: str) -> str:
    """A new professional's login account, not usable yet, and the activation code that opens it."""
    await Account.insert(Account(kind="pro", professional=professional_id,
                                 login_key=login_key(settings, "pro", rpps)))
    return await issue_activation_code(settings, professional_id=professional_id)


async def close_account(account_id: UUID) -> None:
    """Nobody logs in any more: sessions and passkeys go, the password and TOTP secret are cleared."""
    await UserSession.delete().where(UserSession.account == account_id)
    await Passkey.delete().where(Passkey.account == account_id)
    await Account.update({Account.password_hash: None, Account.totp_secret: None,
                          Account.totp_confirmed: False}).where(Account.id == account_id)


async def _complete_activation(actor: Actor) -> None:
    """First credential registered: the space is active and the codes are spent."""
    await activation.complete(utcnow(), actor.person_id, actor.professional_id)


async def promote(settings: Settings, actor: Actor, device: str) -> str:
    """Replace an enrolment or half-done login session by a full session (new id)."""
    async with database.transaction():
        await close_session(actor.session_id)
        if actor.stage == "enrolling":
            await _complete_activation(actor)
        return await open_session(settings, actor.account_id, "active", device)


# --- password + TOTP --------------------------------------------------------


def _cipher(settings: Settings) -> FieldCipher:
    return FieldCipher(settings.secrets.data_key)


ZXCVBN_MAX = 72


def check_password_strength(password: str, user_inputs: tuple[str, ...] = ()) -> None:
    """Refuse short, blank, repetitive or common passwords (zxcvbn score below 3).

    Raises:
        Unprocessable: with the rule broken (``min-length``, ``blank``, ``guessable``).
    """
    if not password.strip():
        raise Unprocessable("Mot de passe vide : il ne peut pas être fait que d'espaces.",
                             detail_en="Empty password: it cannot be only spaces.",
                             errors=[{"field": "password", "rule": "blank", "message": "vide",
                                      "message_en": "empty"}])
    if len(password) < MIN_PASSWORD:
        raise Unprocessable(
            f"Mot de passe trop court : {MIN_PASSWORD} caractères minimum.",
            detail_en=f"Password too short: at least {MIN_PASSWORD} characters.",
            errors=[{"field": "password", "rule": "min-length", "message": "trop court",
                     "message_en": "too short"}],
        )
    if len(password) > 256:
        raise Unprocessable("Mot de passe trop long.", detail_en="Password too long.")
    # zxcvbn refuses more than 72 characters (its matching grows quadratically):
    # the first 72 characters must be strong on their own.
    verdict = zxcvbn(password[:ZXCVBN_MAX], user_inputs=[u for u in user_inputs if u])
    if verdict["score"] < MIN_SCORE:
        hint = verdict["feedback"].get("warning") or "It is easy to guess."
        raise Unprocessable(
            "Mot de passe trop facile à deviner (mot courant, répétition, suite de touches ou donnée "
            "personnelle) : choisissez par exemple une phrase de quatre mots sans lien entre eux.",
            detail_en=f"Password too easy to guess: {hint} Try four unrelated words, for example.",
            errors=[{"field": "password", "rule": "guessable", "message": "trop facile à deviner",
                     "message_en": "too easy to guess"}])


async def set_password(settings: Settings, actor: Actor, password: str) -> dict:
    """Propose a new password with a new TOTP secret; return how to enrol the secret.

    Both stay pending, and the current password and second factor keep working,
    until a code from the new secret confirms them (:func:`confirm_totp`).
    """
    name = await display_name(actor)
    check_password_strength(password, await personal_words(actor))
    secret = pyotp.random_base32()
    await Account.update(
        {
            Account.pending_password_hash: await asyncio.to_thread(hash_password, password),
            Account.pending_totp_secret: _cipher(settings).encrypt(secret, str(actor.account_id)),
        }
    ).where(Account.id == actor.account_id)
    uri = pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name="Carnet")
    return {"totp_secret": secret, "otpauth_uri": uri, "qr": svg_qr(uri)}


async def _check_totp(settings: Settings, account: dict, code: str) -> bool:
    """Accept a code of the current step ±1 from the active secret, never the same step twice."""
    step = _matching_step(settings, account["id"], account["totp_secret"], code)
    if step is None or step <= account["totp_last_step"]:
        return False
    updated = await Account.update({Account.totp_last_step: step}).where(
        (Account.id == account["id"]) & (Account.totp_last_step < step)
    ).returning(Account.id)
    return bool(updated)


async def confirm_totp(settings: Settings, actor: Actor, code: str) -> None:
    """A code from the pending secret switches to the new password and second factor at once."""
    account = await Account.select().where(Account.id == actor.account_id).first()
    key = keyed_hash(settings.secrets.hmac_key, f"totp:{actor.account_id}")
    await throttle.check(key)
    step = _matching_step(settings, account["id"], account["pending_totp_secret"], code)
    if step is None:
        await throttle.record_failure(key)
        raise InvalidCredentials(
            "Code TOTP incorrect : saisissez le code affiché par votre application pour Carnet.",
            detail_en="Wrong TOTP code: enter the code your app shows for Carnet.",
        )
    updated = await Account.update({
        Account.password_hash: account["pending_password_hash"],
        Account.totp_secret: account["pending_totp_secret"],
        Account.pending_password_hash: None, Account.pending_totp_secret: None,
        Account.totp_confirmed: True, Account.totp_last_step: step,
    }).where((Account.id == account["id"]) & (Account.pending_totp_secret == account["pending_totp_secret"])
             ).returning(Account.id)
    if not updated:
        raise Conflict("Ce changement a déjà été confirmé ou remplacé.",
                       detail_en="This change was already confirmed or replaced.")
    await throttle.clear(key)


def _matching_step(settings: Settings, account_id: UUID, sealed: str | None, code: str) -> int | None:
    """The time step (current ±1) whose code from this sealed secret is ``code``, or ``None``."""
    if not sealed or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(_cipher(settings).decrypt(sealed, str(account_id)))
    now_step = int(utcnow().timestamp()) // totp.interval
    for step in (now_step - 1, now_step, now_step + 1):
        if totp.at(step * totp.interval) == code:
            return step
    return None


async def password_login(settings: Settings, kind: str, identifier: str, password: str, device: str, *,
                         client: str = "", known_device: throttle.KnownDevice | None = None) -> str:
    """First factor: identifier + password. Returns a session that still owes the TOTP code.

    The attempt counts against the identifier and the client address, or only
    against the device when it already logged in to this account
    (:func:`backend.accounts.throttle.login_keys`).
    """
    key = login_key(settings, kind, identifier)
    account = await Account.select(
        Account.id, Account.password_hash, Account.totp_confirmed
    ).where((Account.login_key == key) & (Account.kind == kind)).first()
    attempt = await throttle.attempt(
        *throttle.login_keys(settings, key, account["id"] if account else None, client, known_device))
    ok = await asyncio.to_thread(verify_password, account["password_hash"] if account else None, password)
    if not ok or not account or not account["totp_confirmed"]:
        raise InvalidCredentials(_GENERIC_LOGIN[0], detail_en=_GENERIC_LOGIN[1])
    await attempt.withdraw()
    return await open_session(settings, account["id"], "totp", device)


async def totp_login(settings: Settings, actor: Actor, code: str, device: str, *,
                     client: str = "", known_device: throttle.KnownDevice | None = None) -> str:
    """Second factor: the TOTP code; the half-done session is replaced by a full one."""
    account = await Account.select().where(Account.id == actor.account_id).first()
    attempt = await throttle.attempt(
        *throttle.login_keys(settings, account["login_key"], account["id"], client, known_device))
    if not await _check_totp(settings, account, code):
        # The password was accepted already: saying which part is wrong tells nothing new.
        raise InvalidCredentials(_WRONG_TOTP[0], detail_en=_WRONG_TOTP[1],
                                 errors=[{"field": "code", "rule": "totp", "message": "code incorrect",
                                          "message_en": "wrong code"}])
    await attempt.succeeded()
    return await promote(settings, actor, device)


# --- passkeys ---------------------------------------------------------------


async def personal_words(actor: Actor) -> tuple[str, ...]:
    """What a password must not be built from: names, NIR or RPPS, date of birth, the service's name."""
    if actor.person_id:
        rows = await database.fetch(
            "SELECT first_name, birth_name, used_name, nir, birth_date FROM insured_person WHERE id = {}",
            actor.person_id)
        row = rows[0]
        born = row["birth_date"]
        words = (row["first_name"], row["birth_name"], row["used_name"] or "", row["nir"], row["nir"][:13],
                 born.strftime("%d%m%Y"), born.strftime("%Y%m%d"), born.isoformat())
    else:
        rows = await database.fetch(
            "SELECT first_name, last_name, rpps FROM professional WHERE id = {}", actor.professional_id)
        words = (rows[0]["first_name"], rows[0]["last_name"], rows[0]["rpps"])
    return (*(w for w in words if w), "carnet")


async def _store_challenge(purpose: str, challenge: bytes, account: UUID | None,
                           client: str | None = None) -> UUID:
    """Keep a challenge for one answer; expired ones are purged on the way.

    An anonymous challenge names its ``client`` (keyed hash of the address),
    which may hold :data:`MAX_OPEN_CHALLENGES` open ones at most. The count and
    the insert are one serialised step, so concurrent calls cannot overshoot.

    Raises:
        TooManyAttempts: the client already holds its share of open challenges.
    """
    now = utcnow()
    async with database.transaction():
        await WebAuthnChallenge.delete().where(WebAuthnChallenge.expires_at <= now)
        if client is not None:
            await _refuse_too_many_open(client, purpose)
        row = await WebAuthnChallenge.insert(
            WebAuthnChallenge(
                challenge=bytes_to_base64url(challenge),
                purpose=purpose,
                account=account,
                client=client,
                expires_at=now + CHALLENGE_TTL,
            )
        ).returning(WebAuthnChallenge.id)
    return row[0]["id"]


async def _refuse_too_many_open(client: str, purpose: str) -> None:
    """Inside the challenge's transaction: one client's open challenges are counted, then capped."""
    if database.dialect() == "postgres":  # SQLite's single writer already serialises this step
        await database.fetch("SELECT pg_advisory_xact_lock(hashtextextended({}, 0))", f"challenge:{client}")
    rows = await database.fetch(
        "SELECT count(*) AS n FROM webauthn_challenge WHERE client = {} AND purpose = {}", client, purpose)
    if rows[0]["n"] >= MAX_OPEN_CHALLENGES:
        raise TooManyAttempts(
            "Trop de connexions par clé d'accès commencées : patientez quelques minutes.",
            detail_en="Too many passkey logins started: wait a few minutes.",
            headers={"Retry-After": str(int(CHALLENGE_TTL.total_seconds()))})


async def _take_challenge(challenge_id: UUID, purpose: str, account: UUID | None) -> bytes:
    """Single use: the challenge row is deleted as it is read."""
    rows = await WebAuthnChallenge.delete().where(
        (WebAuthnChallenge.id == challenge_id) & (WebAuthnChallenge.purpose == purpose)
    ).returning(WebAuthnChallenge.challenge, WebAuthnChallenge.expires_at, WebAuthnChallenge.account)
    if not rows or rows[0]["expires_at"] <= utcnow() or rows[0]["account"] != account:
        raise Unprocessable(
            "Défi WebAuthn inconnu ou expiré : recommencez.",
            detail_en="Unknown or expired WebAuthn challenge: start again.",
        )
    return base64url_to_bytes(rows[0]["challenge"])


async def passkey_registration_options(settings: Settings, actor: Actor) -> dict:
    existing = await Passkey.select(Passkey.credential_id).where(Passkey.account == actor.account_id)
    options = generate_registration_options(
        rp_id=settings.rp_id,
        rp_name="Carnet",
        user_id=actor.account_id.bytes,
        user_name=await display_name(actor),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p["credential_id"])) for p in existing
        ],
    )
    challenge_id = await _store_challenge("register", options.challenge, actor.account_id)
    return {"challenge_id": challenge_id, "options": json.loads(options_to_json(options))}


async def register_passkey(
    settings: Settings, actor: Actor, challenge_id: UUID, credential: dict, label: str
) -> dict:
    challenge = await _take_challenge(challenge_id, "register", actor.account_id)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_origin=settings.origin,
            expected_rp_id=settings.rp_id,
            require_user_verification=True,
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        raise Unprocessable(
            "Clé d'accès refusée : la réponse de l'authentificateur est invalide.",
            detail_en="Passkey refused: the authenticator's response is invalid.",
        ) from exc
    transports = credential.get("response", {}).get("transports") or []
    row = await Passkey.insert(
        Passkey(
            account=actor.account_id,
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
            transports=",".join(str(t) for t in transports)[:100],
            label=(label or "Clé d'accès")[:100],
        )
    ).returning(Passkey.id, Passkey.label, Passkey.created_at)
    return row[0]


async def passkey_login_options(settings: Settings, client: str) -> dict:
    """Anonymous login options; one client address may hold a few open challenges at most."""
    client_key = keyed_hash(settings.secrets.hmac_key, f"client:{client}")
    options = generate_authentication_options(
        rp_id=settings.rp_id, user_verification=UserVerificationRequirement.REQUIRED
    )
    challenge_id = await _store_challenge("login", options.challenge, None, client_key)
    return {"challenge_id": challenge_id, "options": json.loads(options_to_json(options))}


async def passkey_login(settings: Settings, challenge_id: UUID, credential: dict,
                        device: str) -> tuple[str, UUID]:
    """A passkey with user verification counts as two factors: a full session at once.

    Only the passkey's own counter applies: the password counters of the
    identifier or the address (which anyone may push to their limit) never
    shut a passkey out. Returns the session token and the account id.
    """
    challenge = await _take_challenge(challenge_id, "login", None)
    raw_id = str(credential.get("rawId") or credential.get("id") or "")
    key = keyed_hash(settings.secrets.hmac_key, f"passkey:{raw_id}")
    await throttle.check(key)
    passkey = await Passkey.select().where(Passkey.credential_id == raw_id).first()
    try:
        if passkey is None:
            raise InvalidAuthenticationResponse("unknown credential")
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.rp_id,
            expected_origin=settings.origin,
            credential_public_key=base64url_to_bytes(passkey["public_key"]),
            credential_current_sign_count=passkey["sign_count"],
            require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
        await throttle.record_failure(key)
        raise InvalidCredentials(
            "Clé d'accès refusée.", detail_en="Passkey refused."
        ) from exc
    await Passkey.update(
        {Passkey.sign_count: verified.new_sign_count, Passkey.last_used_at: utcnow()}
    ).where(Passkey.id == passkey["id"])
    return await open_session(settings, passkey["account"], "active", device), passkey["account"]


async def list_passkeys(actor: Actor) -> list[dict]:
    return await Passkey.select(
        Passkey.id, Passkey.label, Passkey.created_at, Passkey.last_used_at
    ).where(Passkey.account == actor.account_id).order_by(Passkey.created_at)


async def delete_passkey(actor: Actor, passkey_id: UUID) -> None:
    """Remove a passkey, keeping at least one way to log in."""
    async with database.transaction():
        keys = await Passkey.select(Passkey.id).where(Passkey.account == actor.account_id)
        if passkey_id not in {k["id"] for k in keys}:
            raise NotFound()
        account = await Account.select(Account.totp_confirmed, Account.password_hash).where(
            Account.id == actor.account_id
        ).first()
        has_password = bool(account["totp_confirmed"] and account["password_hash"])
        if len(keys) == 1 and not has_password:
            raise Conflict(
                "Impossible de supprimer votre dernier moyen de connexion.",
                detail_en="You cannot remove your last way to log in.",
            )
        await Passkey.delete().where(Passkey.id == passkey_id)


# --- re-authentication -----------------------------------------------------


async def _mark_fresh(actor: Actor) -> None:
    await UserSession.update({UserSession.authenticated_at: utcnow()}).where(
        UserSession.id == actor.session_id)


async def reauth_with_password(settings: Settings, actor: Actor, password: str, code: str) -> None:
    """Prove the owner again on the current session: password and a TOTP code (throttled)."""
    account = await Account.select().where(Account.id == actor.account_id).first()
    key = account["login_key"]
    await throttle.check(key)
    ok = await asyncio.to_thread(verify_password, account["password_hash"], password)
    if not ok or not account["totp_confirmed"] or not await _check_totp(settings, account, code):
        await throttle.record_failure(key)
        raise InvalidCredentials("Mot de passe ou code incorrect.", detail_en="Wrong password or code.")
    await throttle.clear(key)
    await _mark_fresh(actor)


async def reauth_passkey_options(settings: Settings, actor: Actor) -> dict:
    """Request options listing this account's passkeys only."""
    keys = await Passkey.select(Passkey.credential_id).where(Passkey.account == actor.account_id)
    if not keys:
        raise NotFound("Aucune clé d'accès enregistrée sur ce compte.",
                       detail_en="No passkey registered on this account.")
    options = generate_authentication_options(
        rp_id=settings.rp_id, user_verification=UserVerificationRequirement.REQUIRED,
        allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(k["credential_id"]))
                           for k in keys])
    challenge_id = await _store_challenge("reauth", options.challenge, actor.account_id)
    return {"challenge_id": challenge_id, "options": json.loads(options_to_json(options))}


async def reauth_with_passkey(settings: Settings, actor: Actor, challenge_id: UUID, credential: dict) -> None:
    """Prove the owner again with one of the account's own passkeys (user verification required)."""
    challenge = await _take_challenge(challenge_id, "reauth", actor.account_id)
    raw_id = str(credential.get("rawId") or credential.get("id") or "")
    passkey = await Passkey.select().where(
        (Passkey.credential_id == raw_id) & (Passkey.account == actor.account_id)).first()
    try:
        if passkey is None:
            raise InvalidAuthenticationResponse("not a passkey of this account")
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=settings.rp_id,
            expected_origin=settings.origin, credential_public_key=base64url_to_bytes(passkey["public_key"]),
            credential_current_sign_count=passkey["sign_count"], require_user_verification=True)
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
        raise InvalidCredentials("Clé d'accès refusée.", detail_en="Passkey refused.") from exc
    await Passkey.update({Passkey.sign_count: verified.new_sign_count, Passkey.last_used_at: utcnow()}).where(
        Passkey.id == passkey["id"])
    await _mark_fresh(actor)


async def security_overview(actor: Actor) -> dict:
    account = await Account.select(Account.password_hash, Account.totp_confirmed).where(
        Account.id == actor.account_id
    ).first()
    return {
        "password_set": bool(account["password_hash"]),
        "totp_enabled": bool(account["totp_confirmed"]),
        "passkeys": await list_passkeys(actor),
        "sessions": await list_sessions(actor),
    }


