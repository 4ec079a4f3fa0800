"""Piccolo app for the accounts slice."""

import os

from piccolo.conf.apps import AppConfig

from backend.accounts.tables import Account, LoginThrottle, Passkey, UserSession, WebAuthnChallenge

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Account, Passkey, UserSession, WebAuthnChallenge, LoginThrottle],
    migration_dependencies=[
        "backend.identity.piccolo_app",
        "backend.professionals.piccolo_app",
    ],
    commands=[],
)
