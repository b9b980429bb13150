"""Django for tests: settings configured once per process (no database, no apps); each test
then sets what it needs with ``django.test.override_settings``."""

from __future__ import annotations

import django
from django.conf import settings

__all__ = ["configure_django"]


def configure_django() -> None:
    """Configure Django's settings if nothing did yet, then set Django up."""
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="xaa-tests-only",
            ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
            INSTALLED_APPS=[],
            MIDDLEWARE=[],
            ROOT_URLCONF=__name__,
            USE_TZ=True,
            LOGGING_CONFIG=None,
        )
    django.setup()


urlpatterns: list[object] = []
