"""Piccolo app for the professionals slice."""

import os

from piccolo.conf.apps import AppConfig

from backend.professionals.tables import Professional, Structure

APP_CONFIG = AppConfig(
    app_name="professionals",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Professional, Structure],
    migration_dependencies=[],
    commands=[],
)
