"""The HTTP service: ``create_app(Settings(...))`` (FastAPI), run by ``product-studio serve``."""

from .app import create_app, create_app_from_env
from .settings import Settings

__all__ = ["Settings", "create_app", "create_app_from_env"]
