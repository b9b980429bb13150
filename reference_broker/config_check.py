"""``xaa broker config --check FILE``: every problem of a service configuration, with its line.

The passes are :func:`xaa.adapters.toml_config.check_model_text`'s (TOML syntax, the
schema of :class:`~reference_broker.config.BrokerServiceConfig`); this module
adds the cross-references: an agent's apps must be configured, names and
credentials unique, each SPIFFE ID valid and in a configured trust domain.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from xaa.actors import InvalidSpiffeId, SpiffeId
from xaa.adapters.toml_config import Path_, Problem, check_model_file, check_model_text

from .config import BrokerServiceConfig

__all__ = ["Problem", "check_file", "check_text", "template_text"]


def template_text() -> str:
    """The commented starting configuration (``xaa broker config --template``)."""
    return resources.files("reference_broker").joinpath("template.toml").read_text("utf-8")


def check_text(text: str) -> list[Problem]:
    """Every problem of the configuration ``text``; empty when it loads and is consistent."""
    return check_model_text(text, BrokerServiceConfig, _references)


def check_file(path: str | Path) -> list[str]:
    """Rendered problems of the file at ``path`` (reading errors included)."""
    return check_model_file(path, BrokerServiceConfig, _references)


def _twice(table: str, key: str, names: list[str | None]) -> list[tuple[Path_, str]]:
    return [
        ((table, i, key), f"{name!r} is configured twice")
        for i, name in enumerate(names)
        if name is not None and name in names[:i]
    ]


def _references(config: BrokerServiceConfig) -> list[tuple[Path_, str]]:
    found: list[tuple[Path_, str]] = []
    apps = [a.name for a in config.apps]
    domains = [d.trust_domain for d in config.trust_domains]
    found += _twice("apps", "name", list(apps))
    found += _twice("trust_domains", "trust_domain", list(domains))
    found += _twice("agents", "name", [a.name for a in config.agents])
    found += _twice("agents", "spiffe_id", [a.spiffe_id for a in config.agents])
    found += _twice("agents", "client_id", [a.client_id for a in config.agents])
    for i, agent in enumerate(config.agents):
        for name in agent.apps:
            if name not in apps:
                found.append((("agents", i, "apps"), f"{name!r} is no [[apps]] name"))
        if agent.spiffe_id is None:
            continue
        try:
            spiffe = SpiffeId.parse(agent.spiffe_id)
        except InvalidSpiffeId as exc:
            found.append((("agents", i, "spiffe_id"), f"not a SPIFFE ID: {exc}"))
            continue
        if spiffe.trust_domain not in domains:
            where: Path_ = ("agents", i, "spiffe_id")
            found.append((where, f"trust domain {spiffe.trust_domain!r} is not configured"))
    return found
