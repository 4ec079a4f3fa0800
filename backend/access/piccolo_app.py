"""Piccolo app for the access slice."""

import os

from piccolo.conf.apps import AppConfig

from backend.access.tables import (
    AccessEvent,
    Block,
    CareRelation,
    Delegation,
    EmergencyAccess,
    Notification,
    ResearchChoice,
    TemporaryAccess,
)

APP_CONFIG = AppConfig(
    app_name="access",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Delegation, AccessEvent, CareRelation, Block, TemporaryAccess, EmergencyAccess,
                   ResearchChoice, Notification],
    migration_dependencies=["backend.identity.piccolo_app", "backend.professionals.piccolo_app"],
    commands=[],
)
