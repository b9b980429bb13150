"""The fuzz targets beyond the reference apps: the broker service and the vendor examples.

Each stack is a context manager over a scratch directory that yields :class:`Target` s
served over real loopback HTTP: the broker service as ``service_stack`` builds it
(uvicorn), Flask, authlib and Django under werkzeug (``serve_wsgi``), FastAPI under
uvicorn. Routes are read from the apps, credentials reach the deep paths.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from reference_broker.app import create_app as create_broker
from reference_broker.config import load_config
from tests.fuzz.harness import Target, app_routes, served
from xaa import basic_header

__all__ = ["STACKS", "served_broker", "served_vendors", "wsgi_routes"]

_CONVERTER = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


def wsgi_routes(app: Any) -> list[tuple[str, tuple[str, ...]]]:
    """``(path, methods)`` of a Flask app's rules or a Django URLconf's patterns."""
    if hasattr(app, "url_map"):
        return [
            (_CONVERTER.sub(r"{\1}", rule.rule), tuple(sorted(rule.methods - {"HEAD", "OPTIONS"})))
            for rule in app.url_map.iter_rules()
            if rule.endpoint != "static"
        ]
    out = []
    for pattern in app.urlpatterns:  # re_path or path: a literal route either way
        text = pattern.pattern.regex.pattern.strip("^$").replace("\\Z", "")
        out.append(("/" + re.sub(r"\\(.)", r"\1", text), ("GET", "POST")))
    return out


@contextlib.contextmanager
def served_broker(tmp: Path) -> Iterator[list[Target]]:
    """The broker service over the reference IdP and chat apps (``service_stack``)."""
    from tests.broker_service.service_stack import service_stack

    tmp.mkdir(parents=True, exist_ok=True)
    with service_stack(tmp) as stack:
        routes = app_routes(create_broker(load_config(stack.configs[0]), keyring=stack.keyring))
        broker = Target("broker", stack.broker, routes, basic_header("wiki", "wiki-secret"))
        broker.oauth_paths = frozenset({"/v1/token"})
        broker.tokens = {
            "bearer": "Bearer " + stack.svid(),
            "client_assertion": stack.assertion(),
        }
        yield [broker]


def _vendor_tokens(acme: str, vendor: str) -> dict[str, str]:
    from tests.examples.test_fastapi_vendor_example import id_jag, redeem

    answer = redeem(vendor, id_jag(acme, vendor))
    answer.raise_for_status()
    return {"assertion": id_jag(acme, vendor), "bearer": "Bearer " + answer.json()["access_token"]}


@contextlib.contextmanager
def served_vendors(tmp: Path) -> Iterator[list[Target]]:
    """The four vendor examples, each trusting its own reference IdP."""
    from tests.examples.test_fastapi_vendor_example import CLIENT, SECRET, idp, vendor_app
    from tests.support.django_setup import configure_django
    from tests.support.wsgi import serve_wsgi
    from xaa.adapters.serving import free_port

    basic = basic_header(CLIENT, SECRET)
    targets: list[Target] = []
    with contextlib.ExitStack() as running:
        for name in ("flask", "django", "authlib", "fastapi"):
            vendor = f"http://127.0.0.1:{free_port()}"
            port = int(vendor.rsplit(":", 1)[1])
            acme = running.enter_context(idp(vendor))
            data = tmp / name
            data.mkdir(parents=True, exist_ok=True)
            routes: list[tuple[str, tuple[str, ...]]]
            if name == "flask":
                from examples.flask_vendor.app import create_app as create_flask

                flask_app = create_flask(vendor, data, [acme])
                flask_app.extensions["notes_xaa"].db.add_client(CLIENT, SECRET)
                routes = wsgi_routes(flask_app)
                running.enter_context(serve_wsgi(flask_app, port=port))
            elif name == "authlib":
                from examples.authlib_vendor.app import add_client
                from examples.authlib_vendor.app import create_app as create_authlib

                authlib_app = create_authlib(vendor, data, [acme])
                add_client(authlib_app.extensions["vendor_db"], CLIENT, SECRET)
                routes = wsgi_routes(authlib_app)
                running.enter_context(serve_wsgi(authlib_app, port=port))
            elif name == "django":
                configure_django()
                from django.core.handlers.wsgi import WSGIHandler
                from django.test import override_settings

                from examples.django_vendor.app import create_app as create_django

                notes = create_django(vendor, data, [acme])
                notes.xaa.db.add_client(CLIENT, SECRET)
                routes = wsgi_routes(notes.urlconf)
                running.enter_context(override_settings(**notes.settings))
                running.enter_context(serve_wsgi(WSGIHandler(), port=port))
            else:
                fastapi_app = running.enter_context(vendor_app(data, vendor, [acme]))
                routes = app_routes(fastapi_app)
            target = Target(name, vendor, routes, basic, oauth_paths=frozenset({"/token"}))
            target.tokens = _vendor_tokens(acme, vendor)
            targets.append(target)
        yield targets


STACKS: dict[str, Callable[[Path], AbstractContextManager[list[Target]]]] = {
    "reference": served,
    "broker": served_broker,
    "vendors": served_vendors,
}
