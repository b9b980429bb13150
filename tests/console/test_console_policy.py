"""The console's store and policy: connection edits apply to the next token exchange."""

from __future__ import annotations

from pathlib import Path

from reference_idp.config import load_config
from reference_idp.console_store import ActivityFilter, ConsoleStore
from reference_idp.store import Store
from reference_idp.stored_policy import StoredPolicy
from tests.actors_e2e.actor_stack import running_stack, unverified
from xaa import AuditEvent
from xaa.idp import GrantRequest, IssuancePolicy, Subject, SubjectProfile


def _narrowed(policy: IssuancePolicy, client: str, scopes: list[str]) -> IssuancePolicy:
    document = policy.model_dump()
    for grant in document["grants"]:
        if grant["client"] == client:
            grant["scopes"] = [{"groups": [], "scopes": scopes}]
    return IssuancePolicy.model_validate(document)


def test_connection_edit_is_effective_on_the_next_exchange(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        id_token = stack.login()
        wide = stack.exchange(id_token, scope="chat.read chat.write")
        assert unverified(wide.json()["access_token"])["scope"] == "chat.read chat.write"
        store = stack.idp_store
        store.set_policy(_narrowed(store.policy(), "agent", ["chat.read"]))
        narrow = stack.exchange(id_token, scope="chat.read chat.write")  # no restart
        assert unverified(narrow.json()["access_token"])["scope"] == "chat.read"
        # A deleted connection: the next exchange is refused, no-store.
        without = store.policy().model_dump()
        without["grants"] = [g for g in without["grants"] if g["client"] != "agent"]
        store.set_policy(IssuancePolicy.model_validate(without))
        refused = stack.exchange(id_token)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"
        assert refused.headers["cache-control"] == "no-store"


def test_console_policy_edits_survive_a_restart_unless_the_file_changed(tmp_path: Path) -> None:
    config = load_config()
    store = Store(tmp_path / "idp.db")
    try:
        store.seed(config)
        edited = _narrowed(store.policy(), "agent", ["chat.read"])
        store.set_policy(edited)
        store.seed(config)  # a restart with the same file keeps the console's edit
        assert store.policy() == edited
        changed = config.model_copy(update={"policy": _narrowed(config.policy, "wiki", ["x"])})
        store.seed(changed)  # an edited file is the operator's newer word: it wins
        assert store.policy() == changed.policy
    finally:
        store.close()


def _request(audience: str) -> GrantRequest:
    subject = Subject("alice", "id_token", profile=SubjectProfile(groups=frozenset({"eng"})))
    return GrantRequest("agent", audience, subject, frozenset({"a", "b"}), (), None)


def test_stored_policy_rebuilds_on_change_and_pins_one_document_per_exchange() -> None:
    server = {"issuer": "https://as.example", "resources": []}
    grant = {"client": "agent", "audience": "https://as.example", "client_id": "x"}

    class Source:
        text = IssuancePolicy.model_validate(
            {"resource_servers": [server], "grants": [{**grant, "scopes": [{"scopes": ["a"]}]}]}
        ).model_dump_json()

        def policy_document(self) -> str:
            return self.text

    source = Source()
    policy = StoredPolicy(source)
    assert policy.resolve_audience("https://as.example") == "https://as.example"
    assert policy.decide(_request("https://as.example")).scopes == {"a"}
    # The document changes in the middle of an exchange: that exchange keeps its document.
    source.text = IssuancePolicy().model_dump_json()
    assert policy.map_subject(_request("x").subject, "agent", "https://as.example").sub == "alice"
    # The next exchange sees the new document.
    assert policy.resolve_audience("https://as.example") is None


def test_activity_filters_match_actor_substrings_literally(tmp_path: Path) -> None:
    store = Store(tmp_path / "idp.db")
    try:
        console = ConsoleStore(store)
        for actors in (["spiffe://acme.example/agent/triage"], ["spiffe://x/100%_done"], []):
            store.emit(AuditEvent(event="token_exchange.id_jag", decision="issued", actors=actors))
        found, more = console.activity(ActivityFilter(actor="agent/triage"))
        assert [r.event.actors for r in found] == [["spiffe://acme.example/agent/triage"]]
        assert not more
        # LIKE wildcards in the filter are literal characters.
        assert len(console.activity(ActivityFilter(actor="%"))[0]) == 1
        assert len(console.activity(ActivityFilter(actor="_"))[0]) == 1
        assert console.activity(ActivityFilter(actor="0%_d"))[0][0].event.actors[0].endswith("done")
    finally:
        store.close()


def test_an_auth_context_set_in_the_console_applies_to_the_next_exchange(tmp_path: Path) -> None:
    import re

    import httpx

    with running_stack(tmp_path) as stack, httpx.Client(base_url=stack.idp) as console:
        id_token = stack.login()
        assert stack.exchange(id_token).status_code == 200
        form = console.get("/admin/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        login = {"username": "admin", "password": "admin", "csrf_token": csrf.group(1)}
        assert console.post("/admin/login", data=login).status_code == 303
        page = console.get("/admin/servers/edit", params={"issuer": stack.chat}).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        data = {
            "csrf_token": token.group(1),
            "issuer": stack.chat,
            "claim_email": "on",
            "acr_values": "urn:example:mfa",
        }
        assert console.post("/admin/servers/save", data=data).status_code == 303
        refused = stack.exchange(id_token)
        assert refused.json()["error"] == "insufficient_user_authentication"
        assert refused.json()["acr_values"] == "urn:example:mfa"
        assert refused.status_code == 400 and refused.headers["cache-control"] == "no-store"
