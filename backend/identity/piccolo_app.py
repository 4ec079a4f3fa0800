"""Piccolo app for the identity slice."""

import os

from piccolo.conf.apps import AppConfig

from backend.identity.tables import ActivationCode, Guardianship, InsuredPerson, Presentation

APP_CONFIG = AppConfig(
    app_name="identity",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[InsuredPerson, Guardianship, ActivationCode, Presentation],
    migration_dependencies=["backend.professionals.piccolo_app"],
    commands=[],
)
