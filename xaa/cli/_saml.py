"""SAML starting credentials for ``xaa token`` (draft §4.5): an assertion file, or a demo
login (:func:`xaa.adapters.httpx_login.login_with_saml`).

- :func:`read_assertion_file`: a file holding the assertion XML (``<saml2:Assertion ...>``)
  or the base64 ``SAMLResponse`` an ACS received; returns the encoded ``subject_token``.
"""

from __future__ import annotations

from pathlib import Path

from ..adapters.saml import assertion_from_response, encode_subject_token

__all__ = ["read_assertion_file"]


def read_assertion_file(path: Path) -> str:
    """The ``subject_token`` for the assertion in ``path`` (XML, or a base64 SAMLResponse)."""
    text = path.read_text("utf-8").strip()
    if text.startswith("<"):
        return encode_subject_token(text.encode("utf-8"))
    return encode_subject_token(assertion_from_response(text))
