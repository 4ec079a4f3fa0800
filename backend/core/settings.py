"""Settings read from environment variables, with secrets kept in the data directory."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

INS_OIDS = {
    "production": "1.2.250.1.213.1.4.8",
    "nia": "1.2.250.1.213.1.4.9",
    "test": "1.2.250.1.213.1.4.10",
    "demo": "1.2.250.1.213.1.4.11",
}

SECRETS_FILE = "secrets.json"


class ConfigurationError(RuntimeError):
    """The configuration cannot be used (missing secrets in production, demo data refused)."""


@dataclass(frozen=True)
class Secrets:
    """Keys generated on first run and kept in the data directory (mode 0600)."""

    csrf_secret: str
    token_signing_key: str  # PEM, EC P-256 private key (ES256)
    data_key: bytes  # 32 bytes, AES-256-GCM master key
    hmac_key: bytes  # 32 bytes, keyed hashing of codes and identifiers
    vapid_private_key: str  # PEM, EC P-256 (Web Push, later)
    admin_token: str


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Build it with :func:`load_settings`."""

    env: str
    host: str
    port: int
    data_dir: Path
    database_url: str
    public_url: str
    ins_oid: str
    secrets: Secrets
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 3600
    max_body_bytes: int = 1_000_000
    max_import_bytes: int = 20_000_000
    activation_code_days: int = 90
    presentation_seconds: int = 120
    max_document_bytes: int = 20_000_000
    announcement_delay_days: int = 15
    emergency_minutes: int = 240
    pro_messages_per_10_minutes: int = 120  # a pharmacy answers many patients; citizens: 30
    log_level: str = "INFO"
    workers: int = 1  # server processes (``carnet serve``); more than one needs PostgreSQL

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> str:
        return self.database_url.removeprefix("sqlite:///")

    @property
    def rp_id(self) -> str:
        """WebAuthn relying-party id: the public host name."""
        return urlparse(self.public_url).hostname or "localhost"

    @property
    def origin(self) -> str:
        parsed = urlparse(self.public_url)
        return f"{parsed.scheme}://{parsed.netloc}"

    @property
    def secure_cookies(self) -> bool:
        """Cookies are ``Secure`` everywhere but plain-HTTP local development."""
        return urlparse(self.public_url).scheme == "https" or self.is_production


def _generate_secrets() -> dict:
    def pem(key: ec.EllipticCurvePrivateKey) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    return {
        "csrf_secret": secrets.token_urlsafe(32),
        "token_signing_key": pem(ec.generate_private_key(ec.SECP256R1())),
        "data_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "hmac_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "vapid_private_key": pem(ec.generate_private_key(ec.SECP256R1())),
        "admin_token": secrets.token_urlsafe(32),
    }


def _read_master_key(env: dict[str, str], data_dir: Path, production: bool) -> bytes | None:
    """The master data-encryption key from outside the data directory, when the operator supplies one.

    ``CARNET_MASTER_KEY`` (base64) or ``CARNET_MASTER_KEY_FILE`` (a file holding the
    base64 key, readable by its owner only, outside the data directory). In
    production one of them is required: a key beside the data it protects
    protects nothing once the directory is copied.
    """
    raw = env.get("CARNET_MASTER_KEY")
    path_text = env.get("CARNET_MASTER_KEY_FILE")
    if path_text and not raw:
        path = Path(path_text).resolve()
        if path.is_relative_to(data_dir):
            raise ConfigurationError(f"{path}: the master key file must live outside {data_dir}")
        if not path.exists():
            raise ConfigurationError(
                f"{path} is missing: create it with 'carnet secrets-init --master-key-file {path}'")
        if path.stat().st_mode & 0o077:
            raise ConfigurationError(f"{path} must be readable by its owner only (chmod 600)")
        raw = path.read_text().strip()
    if raw is None:
        if production:
            raise ConfigurationError(
                "production needs the master key from outside the data directory: set "
                "CARNET_MASTER_KEY_FILE (or CARNET_MASTER_KEY); 'carnet secrets-init --master-key-file "
                "<file>' creates that file, or moves an existing key out of secrets.json into it")
        return None
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ConfigurationError("the master key is not valid base64") from exc
    if len(key) != 32:
        raise ConfigurationError("the master key must be 32 bytes (base64 of 32 random bytes)")
    return key


def write_master_key(path: Path, key: bytes | None = None) -> None:
    """Create a master key file (mode 0600), with a new random key unless one is given.

    Refuses to overwrite an existing file.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key or secrets.token_bytes(32)).decode() + "\n")


def _write_secrets_file(path: Path, values: dict) -> None:
    """Replace the secrets file atomically, readable by its owner only."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def provision_master_key(data_dir: Path, key_file: Path) -> str:
    """Put the master key in ``key_file``, outside the data directory, for ``CARNET_MASTER_KEY_FILE``.

    A key already in the data directory's secrets file is moved out (the
    documents it encrypts stay readable); otherwise a new key is created. An
    existing ``key_file`` is kept, provided it holds the same key as the
    secrets file when both exist.

    Returns:
        ``"moved"``, ``"created"`` or ``"kept"``.

    Raises:
        ConfigurationError: ``key_file`` is inside the data directory, or holds
            another key than the one the existing data was encrypted with.
    """
    data_dir, key_file = data_dir.resolve(), key_file.resolve()
    if key_file.is_relative_to(data_dir):
        raise ConfigurationError(f"{key_file}: the master key file must live outside {data_dir}")
    path = data_dir / SECRETS_FILE
    stored = json.loads(path.read_text()) if path.exists() else {}
    if "data_key" not in stored:
        if key_file.exists():
            return "kept"
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_master_key(key_file)
        return "created"
    key = base64.b64decode(stored["data_key"])
    if key_file.exists():
        if _read_master_key({"CARNET_MASTER_KEY_FILE": str(key_file)}, data_dir, False) != key:
            raise ConfigurationError(
                f"{key_file} holds another master key than {path}: the existing documents need the latter")
    else:
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_master_key(key_file, key)
    _write_secrets_file(path, {k: v for k, v in stored.items() if k != "data_key"})
    return "moved"


def load_secrets(data_dir: Path, *, create: bool, env: dict[str, str] | None = None,
                 production: bool = False) -> Secrets:
    """Read the secrets file, generating it with 0600 permissions when allowed.

    Args:
        data_dir: the data directory.
        create: generate the file when it is missing (refused in production).
        env: the environment, for a master key supplied from outside the data directory
            (it then replaces, and is never written to, the file's ``data_key``).
        production: the master key must then come from outside the data directory.

    Raises:
        ConfigurationError: the file is missing and may not be created, or is unreadable.
    """
    path = data_dir / SECRETS_FILE
    if not path.exists() and not create:
        raise ConfigurationError(
            f"{path} is missing: run 'carnet secrets-init' before starting in production")
    master_key = _read_master_key(env or {}, data_dir, production)
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        generated = _generate_secrets()
        if master_key is not None:
            del generated["data_key"]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(generated, fh, indent=2)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    if data_dir.stat().st_mode & 0o077:
        os.chmod(data_dir, 0o700)
    raw = json.loads(path.read_text())
    if master_key is None and "data_key" not in raw:
        raise ConfigurationError(
            "the master key is kept outside the data directory: set CARNET_MASTER_KEY_FILE")
    if master_key is not None and "data_key" in raw:
        if production:
            raise ConfigurationError(
                f"{path} still holds the master key: move it out with "
                "'carnet secrets-init --master-key-file <file>' (the same file as CARNET_MASTER_KEY_FILE)")
        if base64.b64decode(raw["data_key"]) != master_key:
            raise ConfigurationError(
                f"the master key supplied differs from the one in {path}: "
                "the existing documents need the latter; move it out with 'carnet secrets-init "
                "--master-key-file <file>'")
    return Secrets(
        csrf_secret=raw["csrf_secret"],
        token_signing_key=raw["token_signing_key"],
        data_key=master_key if master_key is not None else base64.b64decode(raw["data_key"]),
        hmac_key=base64.b64decode(raw["hmac_key"]),
        vapid_private_key=raw["vapid_private_key"],
        admin_token=raw["admin_token"],
    )


def data_dir_from(env: Mapping[str, str]) -> Path:
    """The data directory named by ``CARNET_DATA_DIR`` (``./var`` by default), absolute."""
    return Path(env.get("CARNET_DATA_DIR", "./var")).resolve()


def load_settings(env: dict[str, str] | None = None, *, create_secrets: bool | None = None) -> Settings:
    """Build settings from environment variables.

    Args:
        env: the environment (defaults to ``os.environ``).
        create_secrets: override whether missing secrets may be generated.
    """
    env = dict(os.environ if env is None else env)
    mode = env.get("CARNET_ENV", "development")
    host = env.get("CARNET_HOST", "127.0.0.1")
    port = int(env.get("CARNET_PORT", "8000"))
    data_dir = data_dir_from(env)
    database_url = env.get("CARNET_DATABASE_URL") or f"sqlite:///{data_dir / 'carnet.sqlite3'}"
    public_host = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::1") else host  # noqa: S104
    public_url = env.get("CARNET_PUBLIC_URL", f"http://{public_host}:{port}").rstrip("/")
    oid_name = env.get("CARNET_INS_OID", "production" if mode == "production" else "demo")
    ins_oid = INS_OIDS.get(oid_name, oid_name)
    allow_create = mode != "production" if create_secrets is None else create_secrets
    return Settings(
        env=mode,
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        public_url=public_url,
        ins_oid=ins_oid,
        secrets=load_secrets(data_dir, create=allow_create, env=env, production=mode == "production"),
        session_idle_seconds=int(env.get("CARNET_SESSION_IDLE_SECONDS", 30 * 60)),
        session_absolute_seconds=int(env.get("CARNET_SESSION_ABSOLUTE_SECONDS", 12 * 3600)),
        max_document_bytes=int(env.get("CARNET_MAX_DOCUMENT_BYTES", 20_000_000)),
        announcement_delay_days=int(env.get("CARNET_ANNOUNCEMENT_DELAY_DAYS", 15)),
        emergency_minutes=int(env.get("CARNET_EMERGENCY_MINUTES", 240)),
        pro_messages_per_10_minutes=int(env.get("CARNET_PRO_MESSAGES_PER_10_MINUTES", 120)),
        log_level=env.get("CARNET_LOG_LEVEL", "INFO"),
        workers=_workers(env, database_url),
    )


def _workers(env: dict[str, str], database_url: str) -> int:
    """``CARNET_WORKERS``: by default one process per core on PostgreSQL, one on SQLite."""
    raw = env.get("CARNET_WORKERS")
    if raw is None:
        return 1 if database_url.startswith("sqlite") else max(1, os.cpu_count() or 1)
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ConfigurationError(f"CARNET_WORKERS: a number of processes, 1 or more (got {raw!r})")
    return int(raw)
