"""Piccolo app for the prescriptions slice."""

import os

from piccolo.conf.apps import AppConfig

from backend.prescriptions.tables import (
    MyPharmacy,
    Prescription,
    PrescriptionDispense,
    PrescriptionLine,
    PrescriptionOpening,
)

APP_CONFIG = AppConfig(
    app_name="prescriptions",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Prescription, PrescriptionLine, PrescriptionDispense, PrescriptionOpening, MyPharmacy],
    migration_dependencies=["backend.identity.piccolo_app", "backend.professionals.piccolo_app"],
    commands=[],
)
