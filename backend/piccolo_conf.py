"""Piccolo configuration: the app registry and the engine chosen by CARNET_DATABASE_URL."""

from piccolo.conf.apps import AppRegistry

APP_REGISTRY = AppRegistry(
    apps=[
        "backend.identity.piccolo_app",
        "backend.professionals.piccolo_app",
        "backend.accounts.piccolo_app",
        "backend.access.piccolo_app",
        "backend.documents.piccolo_app",
        "backend.messaging.piccolo_app",
        "backend.prescriptions.piccolo_app",
    ]
)


def __getattr__(name: str):
    if name == "DB":
        from backend.core.database import get_engine

        return get_engine()
    raise AttributeError(name)
