"""docs/actors.md: its Python example runs and its TOML policy loads."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.actors.world import AGENTS, CLIENT, SPIRE, TRIAGE
from xaa.actors import ConfigActorPolicy, DelegationRequest, SpiffeId, ValidatedActor
from xaa.spec import TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT

DOC = (Path(__file__).parents[2] / "docs" / "actors.md").read_text()


def block(language: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", DOC, re.S)
    assert len(found) == 1
    return str(found[0])


def test_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(block("python"), "docs/actors.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["{'chat.read'}", f"alice via {TRIAGE}"]


def test_toml_policy_loads_and_decides() -> None:
    policy = ConfigActorPolicy.from_config(tomllib.loads(block("toml"))["actors"])
    triage = ValidatedActor(TRIAGE, SPIRE, TOKEN_TYPE_JWT, SpiffeId.parse(TRIAGE), None)
    grant = policy.authorize(DelegationRequest("agent-platform", "alice", triage))
    assert grant.allowed_scopes == frozenset({"chat.read", "chat.history"})
    assert grant.max_depth == 2
    bot = ValidatedActor("build-bot", AGENTS, TOKEN_TYPE_ACCESS_TOKEN, None, None)
    assert policy.authorize(DelegationRequest(CLIENT, "anyone", bot)).allowed_scopes is None
