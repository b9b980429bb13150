"""One concept, one type: each public name in the xaa facades denotes one class."""

from __future__ import annotations

import importlib

import xaa.broker
import xaa.idp
import xaa.resource
from xaa import DpopProofVerifier, DpopVerifier
from xaa.stores import MemoryReplayStore

FACADES = ["xaa", "xaa.actors", "xaa.broker", "xaa.client", "xaa.idp", "xaa.resource"]


def test_one_dpop_proof_verifier_protocol_for_every_server() -> None:
    assert xaa.idp.DpopProofVerifier is DpopProofVerifier
    assert xaa.resource.DpopProofVerifier is DpopProofVerifier
    assert isinstance(DpopVerifier(MemoryReplayStore()), DpopProofVerifier)
    assert not hasattr(DpopVerifier, "verify_proof")  # no alias method for a second seam


def test_no_name_denotes_two_types_across_facades() -> None:
    seen: dict[str, object] = {}
    clashes = []
    for name in FACADES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            value = getattr(module, attr)
            if not isinstance(value, type):
                continue
            if attr in seen and seen[attr] is not value:
                clashes.append(attr)
            seen.setdefault(attr, value)
    assert clashes == []


def test_grant_is_the_idp_policy_decision_only() -> None:
    assert not hasattr(xaa.broker, "Grant")
    assert xaa.idp.Grant.__module__ == "xaa.idp._policy"


def test_the_facade_exports_the_endpoints_and_declares_all() -> None:
    import xaa

    for name in ("JwtBearerEndpoint", "TokenExchangeEndpoint", "ResourceServer", "XaaError"):
        assert name in xaa.__all__ and getattr(xaa, name) is not None
    assert xaa.JwtBearerEndpoint is xaa.resource.JwtBearerEndpoint
    assert xaa.TokenExchangeEndpoint is xaa.idp.TokenExchangeEndpoint
    for name in [*FACADES, "xaa.adapters", "xaa.cli", "xaa.conformance", "xaa.stores"]:
        module = importlib.import_module(name)
        assert all(hasattr(module, attr) for attr in module.__all__), name
