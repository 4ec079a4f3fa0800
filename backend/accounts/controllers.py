"""HTTP edges of the accounts slice: activation, login, credentials, security settings."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.di import Provide

from backend.accounts import services, throttle
from backend.accounts.schemas import (
    ActivationIn,
    LoggedOut,
    LoginIn,
    PasskeyLoginIn,
    PasskeyOut,
    PasskeyRegisterIn,
    PasswordIn,
    ProActivationIn,
    ReauthIn,
    SecurityOut,
    TotpEnrollment,
    TotpIn,
    WebAuthnOptions,
)
from backend.core.auth import (
    Actor,
    provide_actor,
    provide_credential_actor,
    provide_enrolling_actor,
    provide_fresh_actor,
    provide_pending_actor,
    session_cookie_name,
)
from backend.core.errors import Conflict, InvalidCredentials, NotFound, TooManyAttempts, Unprocessable
from backend.core.schemas import Next
from backend.core.settings import Settings


def _device(request: Request) -> str:
    return request.headers.get("user-agent", "")[:200]


def _client(request: Request) -> str:
    """The address the connection comes from, for the per-address login counters.

    Behind a reverse proxy this is the proxy's address, so every client shares
    one counter. ``X-Forwarded-For`` is not read: any client can write any
    address there; trusting it needs a setting naming the proxies it may come from.
    """
    return request.client.host if request.client else ""


def _known_device(request: Request, settings: Settings) -> throttle.KnownDevice | None:
    return throttle.read_device_cookie(settings, request.cookies.get(throttle.device_cookie_name(settings)))


def remember_device(request: Request, settings: Settings, response: Response, account_id: UUID) -> None:
    """After a full login: the signed known-device cookie, so that this device is not shut out
    by a lock someone else set on the identifier (HttpOnly, SameSite=Strict, Secure over https)."""
    response.set_cookie(
        key=throttle.device_cookie_name(settings),
        value=throttle.issue_device_cookie(settings, _known_device(request, settings), account_id),
        max_age=int(throttle.DEVICE_MAX_AGE.total_seconds()),
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="strict",
    )


def with_session(settings: Settings, token: str, body: Next) -> Response[Next]:
    """Answer with the session cookie: HttpOnly, SameSite, Secure outside local development."""
    return Response(
        body,
        cookies=[
            Cookie(
                key=session_cookie_name(settings),
                value=token,
                httponly=True,
                secure=settings.secure_cookies,
                samesite="lax",
                path="/",
                max_age=settings.session_absolute_seconds,
            )
        ],
    )


def without_session(settings: Settings, body: LoggedOut) -> Response[LoggedOut]:
    return Response(
        body,
        cookies=[Cookie(key=session_cookie_name(settings), value="", max_age=0, path="/", httponly=True,
                        secure=settings.secure_cookies, samesite="lax")],
    )


class ActivationController(Controller):
    path = "/api/activation"
    tags = ["accounts"]

    @post("/", operation_id="activate", status_code=200,
          raises=[InvalidCredentials, Conflict, TooManyAttempts])
    async def activate(self, request: Request, data: ActivationIn, settings: Settings) -> Response[Next]:
        """Check NIR + activation code + date of birth; opens a short enrolment session."""
        token = await services.activate(settings, data.nir, data.activation_code, data.birth_date,
                                        _device(request))
        return with_session(settings, token, Next(next="enroll"))

    @post("/pro", operation_id="activatePro", status_code=200,
          raises=[InvalidCredentials, Conflict, TooManyAttempts])
    async def activate_pro(self, request: Request, data: ProActivationIn,
                           settings: Settings) -> Response[Next]:
        """A professional's first login: RPPS + the activation code from the directory import."""
        token = await services.activate_pro(settings, data.rpps, data.activation_code, _device(request))
        return with_session(settings, token, Next(next="enroll"))


class AuthController(Controller):
    path = "/api/auth"
    tags = ["accounts"]

    @post("/login", operation_id="passwordLogin", status_code=200,
          raises=[InvalidCredentials, TooManyAttempts])
    async def login(self, request: Request, data: LoginIn, settings: Settings) -> Response[Next]:
        """First factor: identifier (NIR or RPPS) and password. The TOTP code comes next."""
        token = await services.password_login(settings, data.kind, data.identifier, data.password,
                                              _device(request), client=_client(request),
                                              known_device=_known_device(request, settings))
        return with_session(settings, token, Next(next="totp"))

    @post("/login/totp", operation_id="totpLogin", status_code=200,
          raises=[InvalidCredentials, TooManyAttempts],
          dependencies={"actor": Provide(provide_pending_actor)})
    async def login_totp(self, request: Request, data: TotpIn, settings: Settings,
                         actor: Actor) -> Response[Next]:
        """Second factor: a TOTP code (each code is accepted once)."""
        token = await services.totp_login(settings, actor, data.code, _device(request),
                                          client=_client(request),
                                          known_device=_known_device(request, settings))
        response = with_session(settings, token, Next(next="done"))
        remember_device(request, settings, response, actor.account_id)
        return response

    @post("/passkey/options", operation_id="passkeyLoginOptions", status_code=200, raises=[TooManyAttempts])
    async def passkey_options(self, request: Request, settings: Settings) -> WebAuthnOptions:
        """WebAuthn request options for a discoverable passkey with user verification."""
        return msgspec.convert(await services.passkey_login_options(settings, _client(request)),
                               WebAuthnOptions)

    @post("/passkey/login", operation_id="passkeyLogin", status_code=200,
          raises=[InvalidCredentials, Unprocessable, TooManyAttempts])
    async def passkey_login(self, request: Request, data: PasskeyLoginIn,
                            settings: Settings) -> Response[Next]:
        """Log in with a passkey (user verification counts as the second factor)."""
        token, account_id = await services.passkey_login(settings, data.challenge_id, data.credential,
                                                         _device(request))
        response = with_session(settings, token, Next(next="done"))
        remember_device(request, settings, response, account_id)
        return response

    @post("/reauth", operation_id="reauthenticate", status_code=204,
          raises=[InvalidCredentials, TooManyAttempts],
          dependencies={"actor": Provide(provide_actor)})
    async def reauth(self, data: ReauthIn, settings: Settings, actor: Actor) -> None:
        """Prove it is still you (password + TOTP code) before a sensitive change."""
        await services.reauth_with_password(settings, actor, data.password, data.code)

    @post("/reauth/passkey/options", operation_id="reauthPasskeyOptions", status_code=200,
          raises=[NotFound, TooManyAttempts],
          dependencies={"actor": Provide(provide_actor)})
    async def reauth_passkey_options(self, settings: Settings, actor: Actor) -> WebAuthnOptions:
        """Request options listing this account's passkeys, to prove it is still you."""
        return msgspec.convert(await services.reauth_passkey_options(settings, actor), WebAuthnOptions)

    @post("/reauth/passkey", operation_id="reauthPasskey", status_code=204,
          raises=[InvalidCredentials, Unprocessable],
          dependencies={"actor": Provide(provide_actor)})
    async def reauth_passkey(self, data: PasskeyLoginIn, settings: Settings, actor: Actor) -> None:
        """Prove it is still you with one of your passkeys."""
        await services.reauth_with_passkey(settings, actor, data.challenge_id, data.credential)

    @post("/logout", operation_id="logout", status_code=200,
          dependencies={"actor": Provide(provide_enrolling_actor)})
    async def logout(self, settings: Settings, actor: Actor) -> Response[LoggedOut]:
        await services.close_session(actor.session_id)
        return without_session(settings, LoggedOut(closed_sessions=1))

    @post("/logout-all", operation_id="logoutEverywhere", status_code=200,
          dependencies={"actor": Provide(provide_actor)})
    async def logout_all(self, settings: Settings, actor: Actor) -> Response[LoggedOut]:
        """Close every session of the account, on every device."""
        count = await services.close_all_sessions(actor)
        return without_session(settings, LoggedOut(closed_sessions=count))


class CredentialsController(Controller):
    """Register credentials: during activation (enrolment session) or later from settings,
    after a recent proof of the owner (see ``/api/auth/reauth``)."""

    path = "/api/credentials"
    tags = ["accounts"]
    dependencies = {"actor": Provide(provide_credential_actor)}

    @post("/passkeys/options", operation_id="passkeyRegistrationOptions", status_code=200,
          raises=[TooManyAttempts])
    async def passkey_options(self, settings: Settings, actor: Actor) -> WebAuthnOptions:
        return msgspec.convert(await services.passkey_registration_options(settings, actor),
                               WebAuthnOptions)

    @post("/passkeys", operation_id="registerPasskey", status_code=201, raises=[Unprocessable, Conflict])
    async def register_passkey(self, request: Request, data: PasskeyRegisterIn, settings: Settings,
                               actor: Actor) -> Response[Next]:
        """Save a verified passkey; during activation this completes it and logs in."""
        await services.register_passkey(settings, actor, data.challenge_id, data.credential, data.label)
        if actor.stage == "enrolling":
            token = await services.promote(settings, actor, _device(request))
            response = with_session(settings, token, Next(next="done"))
            response.status_code = 201
            return response
        return Response(Next(next="done"), status_code=201)

    @post("/password", operation_id="setPassword", status_code=200, raises=[Unprocessable])
    async def set_password(self, data: PasswordIn, settings: Settings, actor: Actor) -> TotpEnrollment:
        """Set a password and receive a new TOTP secret to confirm."""
        return msgspec.convert(await services.set_password(settings, actor, data.password),
                               TotpEnrollment)

    @post("/totp/confirm", operation_id="confirmTotp", status_code=200,
          raises=[InvalidCredentials, Unprocessable, Conflict, TooManyAttempts])
    async def confirm_totp(self, request: Request, data: TotpIn, settings: Settings,
                           actor: Actor) -> Response[Next]:
        await services.confirm_totp(settings, actor, data.code)
        if actor.stage == "enrolling":
            token = await services.promote(settings, actor, _device(request))
            return with_session(settings, token, Next(next="done"))
        return Response(Next(next="done"))


class SecurityController(Controller):
    path = "/api/security"
    tags = ["accounts"]
    dependencies = {"actor": Provide(provide_actor)}

    @get("/", operation_id="securityOverview")
    async def overview(self, actor: Actor) -> SecurityOut:
        """Passkeys, TOTP state and the active sessions with their devices."""
        return msgspec.convert(await services.security_overview(actor), SecurityOut)

    @get("/passkeys", operation_id="listPasskeys")
    async def passkeys(self, actor: Actor) -> list[PasskeyOut]:
        return msgspec.convert(await services.list_passkeys(actor), list[PasskeyOut])

    @delete("/passkeys/{passkey_id:uuid}", operation_id="deletePasskey", raises=[Conflict],
            dependencies={"actor": Provide(provide_fresh_actor)})
    async def delete_passkey(self, passkey_id: UUID, actor: Actor) -> None:
        await services.delete_passkey(actor, passkey_id)

    @delete("/sessions/{handle:str}", operation_id="revokeSession")
    async def revoke_session(self, handle: str, actor: Actor) -> None:
        await services.revoke_session(actor, handle)
