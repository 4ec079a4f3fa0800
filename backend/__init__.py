"""Carnet: a citizen health space."""

import os

# Piccolo finds the app registry and the engine through this module.
os.environ.setdefault("PICCOLO_CONF", "backend.piccolo_conf")
