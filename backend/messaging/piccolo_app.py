"""Piccolo app for the messaging slice."""

import os

from piccolo.conf.apps import AppConfig

from backend.messaging.tables import MessageAttachment, MessageThread, ThreadMessage

APP_CONFIG = AppConfig(
    app_name="messaging",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[MessageThread, ThreadMessage, MessageAttachment],
    migration_dependencies=["backend.identity.piccolo_app", "backend.professionals.piccolo_app"],
    commands=[],
)
