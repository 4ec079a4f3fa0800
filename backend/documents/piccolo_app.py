"""Piccolo app for the documents slice."""

import os

from piccolo.conf.apps import AppConfig

from backend.documents.tables import Document, UploadReceipt

APP_CONFIG = AppConfig(
    app_name="documents",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Document, UploadReceipt],
    migration_dependencies=["backend.identity.piccolo_app", "backend.professionals.piccolo_app"],
    commands=[],
)
