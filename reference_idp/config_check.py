"""``xaa idp config --check FILE``: every problem of a configuration file, with its line.

The passes (TOML syntax, the schema of :class:`~reference_idp.config.IdpConfig`,
cross-references) are :func:`xaa.adapters.toml_config.check_model_text`'s; this module
adds the cross-references the schema cannot see (a grant for a client that is
not configured, duplicate users, an ID-JAG lifetime beyond its maximum); a value the
template marked CHANGE ME is refused by ``check_model_text`` itself.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from xaa import spec
from xaa.adapters.toml_config import (
    Path_,
    Problem,
    check_model_file,
    check_model_text,
    dotted,
    key_lines,
)

from .config import IdpConfig

__all__ = ["Problem", "check_file", "check_text", "dotted", "key_lines", "template_text"]


def template_text() -> str:
    """The commented starting configuration (``xaa idp config --template``)."""
    return resources.files("reference_idp").joinpath("template.toml").read_text("utf-8")


def check_text(text: str) -> list[Problem]:
    """Every problem of the configuration ``text``; empty when it loads and is consistent."""
    return check_model_text(text, IdpConfig, _references)


def _references(config: IdpConfig) -> list[tuple[Path_, str]]:
    """What the schema cannot check: names that must exist or be unique across tables."""
    found: list[tuple[Path_, str]] = []
    if config.id_jag_lifetime > config.id_jag_max_lifetime:  # the IdP refuses to start
        found.append(
            (
                ("id_jag_lifetime",),
                f"{config.id_jag_lifetime} s is longer than id_jag_max_lifetime"
                f" ({config.id_jag_max_lifetime} s)",
            )
        )
    clients = [c.client_id for c in config.clients]
    for field, names in (("users", [u.username for u in config.users]), ("clients", clients)):
        key = "username" if field == "users" else "client_id"
        for i, name in enumerate(names):
            if name in names[:i]:
                found.append(((field, i, key), f"{name!r} is configured twice"))
    for i, grant in enumerate(config.policy.grants):
        if grant.client not in clients:
            found.append(
                (("policy", "grants", i, "client"), f"{grant.client!r} is no [[clients]] client_id")
            )
    for alg in config.dpop.algs:
        if alg not in spec.SUPPORTED_ALGS:
            found.append((("dpop", "algs"), f"unsupported algorithm {alg!r}"))
    if config.saml is not None:
        for i, sp in enumerate(config.saml.service_providers):
            if sp.client_id not in clients:
                path: Path_ = ("saml", "service_providers", i, "client_id")
                found.append((path, f"{sp.client_id!r} is no [[clients]] client_id"))
        if config.saml.name_id_format == "email":
            emails = [u.email for u in config.users]
            for i, email in enumerate(emails):
                if email is None or email in emails[:i]:
                    found.append(
                        (("users", i, "email"), "NameID format email needs a unique email per user")
                    )
    return found


def check_file(path: str | Path) -> list[str]:
    """Rendered problems of the file at ``path`` (reading errors included)."""
    return check_model_file(path, IdpConfig, _references)
