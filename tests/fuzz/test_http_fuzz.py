"""A bounded HTTP fuzz of both reference apps over loopback (docs/resource.md, "HTTP edge").

Every route the Starlette apps declare gets hostile requests of every category; no
5xx but a deliberate 503, every OAuth 4xx is RFC 6749 JSON with no-store, no
traceback or warning in the servers' logs, no secret or token echoed. ``make fuzz``
runs the same at 10^5 requests; ``XAA_FUZZ_COUNT``, ``XAA_FUZZ_SECONDS`` and
``XAA_FUZZ_SEED`` change this run; the broker service and the vendor examples get their
own smaller run (``XAA_FUZZ_COUNT_MORE``, ``XAA_FUZZ_SECONDS_MORE``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fuzz.harness import WEIGHTS, Target, app_routes, fuzz
from tests.fuzz.targets import wsgi_routes

pytestmark = pytest.mark.e2e


def test_reference_apps_survive_a_seeded_http_fuzz() -> None:
    count = int(os.environ.get("XAA_FUZZ_COUNT", "40000"))
    seconds = float(os.environ.get("XAA_FUZZ_SECONDS", "25"))
    seed = int(os.environ.get("XAA_FUZZ_SEED", "20260"))
    report = fuzz(count=count, seconds=seconds, seed=seed)
    print(report.summary())
    assert report.findings == [], report.summary()
    assert set(report.sent) == set(WEIGHTS)
    assert sum(report.sent.values()) >= min(count, 500)


def test_broker_and_vendor_examples_survive_a_seeded_http_fuzz() -> None:
    """The same categories and findings over the broker service and the four vendor
    examples (werkzeug for Flask, authlib and Django, uvicorn for FastAPI and the broker)."""
    count = int(os.environ.get("XAA_FUZZ_COUNT_MORE", "8000"))
    seconds = float(os.environ.get("XAA_FUZZ_SECONDS_MORE", "20"))
    seed = int(os.environ.get("XAA_FUZZ_SEED", "20260"))
    report = fuzz(count=count, seconds=seconds, seed=seed, stacks=("broker", "vendors"))
    print(report.summary())
    assert report.findings == [], report.summary()
    assert set(report.by_target) == {"broker", "flask", "django", "authlib", "fastapi"}
    assert sum(report.sent.values()) >= min(count, 500)


def test_routes_come_from_the_apps() -> None:
    from reference_resource import Settings, create_app

    routes = dict(app_routes(create_app(Settings.make(port=1, db=":memory:", replay="memory"))))
    assert routes["/token"] == ("POST",)
    assert "/api/channels/{channel}/messages" in routes
    assert Target("x", "http://127.0.0.1:1", [], "").port == 1


def test_vendor_routes_come_from_the_wsgi_apps(tmp_path: Path) -> None:
    from examples.django_vendor.app import create_app as create_django
    from examples.flask_vendor.app import create_app as create_flask

    flask_routes = dict(wsgi_routes(create_flask("http://127.0.0.1:1", tmp_path / "f", [])))
    assert flask_routes["/token"] == ("POST",) and "/notes" in flask_routes
    django = create_django("http://127.0.0.1:1", tmp_path / "d", [])
    django_routes = dict(wsgi_routes(django.urlconf))
    assert {"/token", "/notes", "/.well-known/oauth-authorization-server"} <= set(django_routes)
