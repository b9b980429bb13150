"""Conformance suites for ID-JAG: which rule of the draft an IdP, a resource AS or a client breaks.

A black-box HTTP client (httpx) plus a small test IdP (Starlette); an adapter,
outside the sans-I/O core. Run it with ``xaa conformance ...`` or, inside a
vendor's own tests, with the pytest plugin :mod:`xaa.conformance.pytest_plugin`.
"""

from ..adapters._extras import missing_extra

try:
    from ._client import CLIENT, ClientContext, ClientTarget, run_client_suite
    from ._credentials import ClientCredentials
    from ._idp import IDP, IdpContext, IdpTarget, run_idp_suite
    from ._registry import Case, CaseFailed, CaseSkipped, Level, Suite
    from ._reporters import render_json, render_table, to_json, write_junit
    from ._resource_as import (
        RESOURCE_AS,
        ResourceAsContext,
        ResourceAsTarget,
        run_resource_as_suite,
    )
    from ._runner import Outcome, Report, Result, run_suite
    from ._test_idp import DEFAULT_TEST_IDP_URL, TestIdp, running_test_idp
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "server", exc) from None

SUITES = (RESOURCE_AS, IDP, CLIENT)

__all__ = [
    "CLIENT",
    "DEFAULT_TEST_IDP_URL",
    "IDP",
    "RESOURCE_AS",
    "SUITES",
    "Case",
    "CaseFailed",
    "CaseSkipped",
    "ClientContext",
    "ClientCredentials",
    "ClientTarget",
    "IdpContext",
    "IdpTarget",
    "Level",
    "Outcome",
    "Report",
    "ResourceAsContext",
    "ResourceAsTarget",
    "Result",
    "Suite",
    "TestIdp",
    "render_json",
    "render_table",
    "run_client_suite",
    "run_idp_suite",
    "run_resource_as_suite",
    "run_suite",
    "running_test_idp",
    "to_json",
    "write_junit",
]
