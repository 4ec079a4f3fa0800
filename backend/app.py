"""The Litestar application: routes of every slice, errors, security, PWA."""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path

from litestar import Litestar, MediaType, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from backend.access.controllers import DelegationController, PrivacyController, ProAccessController
from backend.accounts.controllers import (
    ActivationController,
    AuthController,
    CredentialsController,
    SecurityController,
)
from backend.core import database
from backend.core.errors import EXCEPTION_HANDLERS
from backend.core.http import request_log, same_origin_writes, security_headers
from backend.core.settings import Settings, load_settings
from backend.documents.controllers import (
    CatalogueController,
    DocumentController,
    ProDocumentController,
)
from backend.identity.controllers import (
    PresentationVerifyController,
    ProfileController,
    RegistryAdminController,
)
from backend.portability.controllers import PortabilityController
from backend.professionals.controllers import DirectoryAdminController, ProController

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")
PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"
CSRF_COOKIE = "carnet_csrf"


def csrf_cookie_name(settings: Settings) -> str:
    """``__Host-`` prefixed over https: Secure, host-only, path ``/``, never set by a subdomain."""
    return f"__Host-{CSRF_COOKIE}" if settings.secure_cookies else CSRF_COOKIE
CSRF_HEADER = "x-csrf-token"

ROUTES = [
    ActivationController,
    AuthController,
    CredentialsController,
    SecurityController,
    ProfileController,
    PresentationVerifyController,
    DelegationController,
    PrivacyController,
    ProAccessController,
    CatalogueController,
    DocumentController,
    ProDocumentController,
    ProController,
    PortabilityController,
    RegistryAdminController,
    DirectoryAdminController,
]


@get("/health", tags=["operations"], operation_id="health", include_in_schema=True)
async def health() -> Response:
    """``{"status": "ok"}`` when the database answers."""
    try:
        await database.get_engine().run_ddl("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means not healthy
        return Response({"status": "unavailable"}, status_code=503)
    return Response({"status": "ok"}, media_type=MediaType.JSON)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application for ``settings`` (read from the environment by default)."""
    settings = settings or load_settings()

    async def on_startup() -> None:
        await database.start(database.configure_engine(settings.database_url))

    async def on_shutdown() -> None:
        await database.stop(database.get_engine())


    app = Litestar(
        route_handlers=[
            health,
            *ROUTES,
            create_static_files_router(
                path="/", directories=[PWA_DIR], html_mode=True, include_in_schema=False,
                name="pwa",
            ),
        ],
        dependencies={"settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True)},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_log(), security_headers(hsts=settings.secure_cookies),
                    same_origin_writes(settings.origin)],
        csrf_config=CSRFConfig(
            secret=settings.secrets.csrf_secret,
            cookie_name=csrf_cookie_name(settings),
            header_name=CSRF_HEADER,
            cookie_secure=settings.secure_cookies,
            cookie_samesite="strict",
            exclude=["/api/admin"],
        ),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Carnet API",
            version="0.1.0",
            description="Citizen health space: identity card, record, access control.",
            path="/schema",
        ),
        logging_config=LoggingConfig(
            root={"level": settings.log_level, "handlers": ["queue_listener"]},
            log_exceptions="never",  # 500s are logged by our handler, without messages
        ),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        debug=False,
    )
    app.state.settings = settings
    logging.getLogger("carnet").setLevel(settings.log_level)
    return app
