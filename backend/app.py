"""The Litestar application: routes of every slice, errors, security, PWA."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from litestar import Litestar, MediaType, Request, Response, get, head
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig

from backend.access.controllers import (
    DelegationController,
    MeController,
    PrivacyController,
    ProAccessController,
)
from backend.accounts.controllers import (
    ActivationController,
    AuthController,
    CredentialsController,
    SecurityController,
)
from backend.accounts.services import open_pro_account
from backend.card.controllers import CardController, PresentationVerifyController
from backend.core import database, live
from backend.core.contract import complete_contract, enforce_contract
from backend.core.errors import EXCEPTION_HANDLERS
from backend.core.http import request_log, same_origin_writes, security_headers
from backend.core.settings import Settings, load_settings
from backend.documents.controllers import (
    CatalogueController,
    DocumentController,
    ProDocumentController,
)
from backend.identity.controllers import RegistryAdminController
from backend.messaging.controllers import (
    CitizenThreadController,
    ProThreadController,
    ThreadController,
)
from backend.portability.controllers import PortabilityController
from backend.prescriptions.controllers import (
    MedicationController,
    PrescriptionController,
    ProPrescriptionController,
)
from backend.professionals.controllers import (
    DirectoryAdminController,
    ProController,
    StructureController,
)

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
    MeController,
    CardController,
    PresentationVerifyController,
    DelegationController,
    PrivacyController,
    ProAccessController,
    CatalogueController,
    DocumentController,
    ProDocumentController,
    ProController,
    StructureController,
    CitizenThreadController,
    ProThreadController,
    ThreadController,
    MedicationController,
    PrescriptionController,
    ProPrescriptionController,
    PortabilityController,
    RegistryAdminController,
    DirectoryAdminController,
]


# --- the PWA's files ----------------------------------------------------------------
#
# Caching scheme. At startup (and in development whenever a file under pwa/ changes) the server
# hashes the whole pwa/ directory into one version string and keeps every file in
# memory, rewritten so that each reference to a JavaScript module, the stylesheet or
# an icon carries ``?v=<version>``: the ``src``/``href`` attributes of index.html and
# offline.html, every relative ``import`` of every module, and the ``BUILD`` constant
# of sw.js. index.html also gets a ``<link rel="modulepreload">`` for each module the
# entry point imports, so the browser fetches them in parallel instead of level by
# level.
#
# - ``/js/*``, ``/css/*``, ``/icons/*`` asked with the current ``?v=`` are
#   ``public, max-age=31536000, immutable``: that URL only ever names these bytes.
# - Anything else (index.html, offline.html, the manifest, a file asked without a
#   version or with an old one) is ``no-cache`` with an ETag: the browser revalidates
#   it on every use (a 304 costs no body), so a stale module is never run after a
#   deploy. sw.js is ``no-store`` (set by the security headers middleware).
# Versioning every import, rather than the entry point only, is what makes the long
# lifetime safe: an unversioned ``./api.js`` cached for a year would outlive a deploy.

VERSIONED_DIRS = ("js/", "css/", "icons/")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SW_BUILD = 'const BUILD = "dev";'
_IMPORT = re.compile(r"""(\b(?:from|import)\s*\(?\s*)(["'])(\.{1,2}/[^"'?#\s]+\.js)\2""")
_HTML_REF = re.compile(r"""(\s(?:src|href)=")(/(?:js|css|icons)/[^"?#]+)(")""")
_PRELOAD_MARK = "<!-- modulepreload -->"


@dataclass(frozen=True)
class PwaFile:
    body: bytes
    media_type: str
    etag: str
    versioned: bool  # under js/, css/ or icons/: immutable when asked with the current version


class PwaFiles:
    """The files of pwa/, versioned by content hash and served from memory (see above)."""

    def __init__(self, root: Path, *, watch: bool = True) -> None:
        self.root = root
        # Development: look for edited files on each request. Production: the files are read
        # once at start-up, and a request costs no walk of the directory.
        self.watch = watch
        self.version = ""
        self.files: dict[str, PwaFile] = {}
        self._signature: tuple = ()
        self.refresh()

    def _paths(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file() and not p.name.startswith("."))

    def refresh(self) -> None:
        """Rebuild when a file was added, removed or changed."""
        paths = self._paths()
        signature = tuple((str(p), st.st_size, st.st_mtime_ns) for p in paths for st in [p.stat()])
        if signature == self._signature:
            return
        raw = {p.relative_to(self.root).as_posix(): p.read_bytes() for p in paths}
        digest = hashlib.sha256()
        for name, data in raw.items():
            digest.update(name.encode() + b"\0" + data + b"\0")
        version = digest.hexdigest()[:16]
        files = {}
        for name, data in raw.items():
            body = self._rewrite(name, data, version, raw)
            media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            files[name] = PwaFile(body, media_type, f'W/"{hashlib.sha256(body).hexdigest()[:20]}"',
                                  name.startswith(VERSIONED_DIRS))
        self.version, self.files, self._signature = version, files, signature

    @staticmethod
    def _imports(name: str, text: str) -> list[str]:
        """The modules ``name`` imports, as paths relative to pwa/."""
        base = PurePath(name).parent
        return [os.path.normpath(base / m.group(3)).replace(os.sep, "/") for m in _IMPORT.finditer(text)]

    def _rewrite(self, name: str, data: bytes, version: str, raw: dict[str, bytes]) -> bytes:
        if name.endswith(".js") and name.startswith("js/"):
            text = _IMPORT.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}?v={version}{m.group(2)}",
                               data.decode())
            return text.encode()
        if name == "sw.js":
            text = data.decode()
            if SW_BUILD not in text:
                raise RuntimeError(f"pwa/sw.js must contain {SW_BUILD!r} (replaced by the version)")
            return text.replace(SW_BUILD, f'const BUILD = "{version}";').encode()
        if name.endswith(".html"):
            text = data.decode()
            if _PRELOAD_MARK in text:
                entries = [m.group(2)[1:] for m in _HTML_REF.finditer(text) if m.group(2).endswith(".js")]
                text = text.replace(_PRELOAD_MARK, "\n  ".join(
                    f'<link rel="modulepreload" href="/{module}">'
                    for module in self._module_graph(entries, raw) if module not in entries))
            return _HTML_REF.sub(lambda m: f"{m.group(1)}{m.group(2)}?v={version}{m.group(3)}", text).encode()
        return data

    def _module_graph(self, entries: list[str], raw: dict[str, bytes]) -> list[str]:
        """Every module reachable from ``entries`` through static imports, in discovery order."""
        seen: list[str] = []
        todo = list(entries)
        while todo:
            module = todo.pop(0)
            if module in seen or module not in raw:
                continue
            seen.append(module)
            todo.extend(self._imports(module, raw[module].decode()))
        return seen

    def response(self, path: str, version: str | None, if_none_match: str | None) -> Response:
        if self.watch:
            self.refresh()
        name = path.strip("/") or "index.html"
        found = self.files.get(name)
        if found is None:
            raise NotFoundException()
        headers = {"etag": found.etag}
        if name != "sw.js":  # sw.js: no-store, added by the security headers middleware
            immutable = found.versioned and version == self.version
            headers["cache-control"] = IMMUTABLE if immutable else REVALIDATE
        if if_none_match and found.etag in [tag.strip() for tag in if_none_match.split(",")]:
            return Response(content=None, status_code=304, headers=headers)
        # HEAD: the same answer, whose body the server does not send.
        return Response(content=found.body, media_type=found.media_type, headers=headers)


def pwa_handlers(files: PwaFiles) -> list:
    @get(["/", "/{file_path:path}"], include_in_schema=False, name="pwa", sync_to_thread=False)
    def pwa_get(request: Request, file_path: PurePath | None = None) -> Response:
        return files.response(file_path.as_posix() if file_path else "/", request.query_params.get("v"),
                              request.headers.get("if-none-match"))

    @head(["/", "/{file_path:path}"], include_in_schema=False, name="pwa-head", sync_to_thread=False)
    def pwa_head(request: Request, file_path: PurePath | None = None) -> Response[None]:
        return files.response(file_path.as_posix() if file_path else "/", request.query_params.get("v"),
                              request.headers.get("if-none-match"))

    return [pwa_get, pwa_head]


def compression_config() -> CompressionConfig:
    """gzip (brotli when its package is installed, gzip for the browsers without it).

    Skipped for the downloads (document files, the export archive: already
    compressed, and sent as they are) and the icons (PNG).
    """
    backend = "brotli" if importlib.util.find_spec("brotli") else "gzip"
    return CompressionConfig(backend=backend, gzip_compress_level=6, brotli_quality=5, minimum_size=500,
                             exclude=[r"^/api/.+/(content|export)$", r"^/api/messaging/", r"^/icons/"])


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
        await live.start(settings.database_url)

    async def on_shutdown() -> None:
        await live.stop()
        await database.stop(database.get_engine())


    app = Litestar(
        route_handlers=[
            health,
            *ROUTES,
            *pwa_handlers(PwaFiles(PWA_DIR, watch=not settings.is_production)),
        ],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True),
            # Handed to the directory import, which sits below accounts.
            "open_pro_account": Provide(lambda: open_pro_account, sync_to_thread=False, use_cache=True),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        compression_config=compression_config(),
        before_request=enforce_contract,
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
    complete_contract(app)
    logging.getLogger("carnet").setLevel(settings.log_level)
    return app
