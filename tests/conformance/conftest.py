"""Fixtures of the conformance tests: the plugin fixtures, the reference IdP."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_idp.app import create_app
from reference_idp.config import load_config
from reference_idp.store import Store
from tests.conformance import broken_idp
from tests.support.servers import free_port, serve
from xaa.conformance.pytest_plugin import xaa_contexts, xaa_http, xaa_serve, xaa_test_idp

__all__ = ["xaa_contexts", "xaa_http", "xaa_serve", "xaa_test_idp"]


@contextlib.contextmanager
def running_reference_idp(db: Path, broken: str | None = None) -> Iterator[str]:
    """The reference IdP with its demo configuration on an ephemeral port
    (``broken``: the one check disabled, tests/conformance/broken_idp.py)."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    config = load_config().with_issuer(issuer)
    store = Store(str(db))
    try:
        app = create_app(config, store, endpoint_type=broken_idp.endpoint_class(broken))
        with serve(app, port=port):
            yield issuer
    finally:
        store.close()


@pytest.fixture(scope="session")
def reference_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_reference_idp(tmp_path_factory.mktemp("idp") / "idp.sqlite3") as issuer:
        yield issuer
