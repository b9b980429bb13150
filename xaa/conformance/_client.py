"""The client suite: run the client under test against a mock IdP, resource AS and API.

The client is a shell command (``--command``). It receives the context in
environment variables and must obtain an access token for ``XAA_RESOURCE``
through both legs (token exchange at the IdP, draft §4.3; jwt-bearer at the
resource AS, draft §4.4), exiting 0 when it got one and non-zero when it refused:

- ``XAA_IDP_ISSUER``, ``XAA_IDP_CLIENT_ID``, ``XAA_IDP_CLIENT_SECRET`` (Basic at the IdP)
- ``XAA_ID_TOKEN`` and ``XAA_ID_TOKEN_FILE``: the user's ID token (subject token)
- ``XAA_AS_ISSUER``, ``XAA_AS_CLIENT_ID``, ``XAA_AS_CLIENT_SECRET``: the resource AS
- ``XAA_RESOURCE``: the protected resource URL (RFC 8707); ``XAA_SCOPE``: scopes

Each case runs the command once against mocks that misbehave in exactly one way
and checks what the client sent, to whom, and its exit status.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote_plus

from xaa import spec
from xaa._forms import basic_credentials

from ._client_mocks import (
    AS_CLIENT,
    COMMAND_TIMEOUT,
    IDP_CLIENT,
    SCOPE,
    STEP_UP_SCOPE,
    MockWorld,
    Recorded,
    mock_world,
)
from ._registry import CaseFailed, CaseSkipped, Level, Suite
from ._runner import Report, Result, run_suite

MUST, SHOULD, BCP = Level.MUST, Level.SHOULD, Level.BEST_PRACTICE


@dataclass(frozen=True)
class ClientTarget:
    """The client under test: a shell command."""

    command: str
    timeout: float = COMMAND_TIMEOUT


@dataclass
class Run:
    """One run of the client command."""

    exit_code: int
    output: str


class ClientContext:
    """The mocks and the way to run the client against one scenario."""

    def __init__(self, target: ClientTarget, world: MockWorld) -> None:
        self.target = target
        self.world = world

    def run(self, *scenario: str) -> Run:
        """Reset the mocks to ``scenario`` and run the client once."""
        world = self.world
        with world.lock:
            world.received.clear()
        world.issued.clear()
        world.jag_scopes.clear()
        world.granted.clear()
        world.scenario = frozenset(scenario)
        world.subject_token = world.id_token()
        with tempfile.NamedTemporaryFile("w", suffix=".jwt", delete=False) as f:
            f.write(world.subject_token)
        try:
            env = {**os.environ, **world.env(f.name)}
            done = subprocess.run(  # noqa: S602 (the vendor's own command, by design)
                self.target.command, shell=True, env=env, capture_output=True, text=True,
                timeout=self.target.timeout, check=False,
            )  # fmt: skip
        finally:
            os.unlink(f.name)
        return Run(done.returncode, (done.stdout + done.stderr)[-2000:])

    def happy(self) -> Run:
        """The client completes against well-behaved mocks."""
        run = self.run()
        if run.exit_code != 0:
            raise CaseFailed(f"the client failed the happy path (exit {run.exit_code})")
        if not self.world.requests("as", "/token"):
            raise CaseFailed("the client exited 0 without redeeming an ID-JAG at the AS")
        return run

    def refuses(
        self, scenario: str, *, forbidden: Iterable[tuple[str, str]], must_fail: bool = True
    ) -> None:
        """Under ``scenario`` the client sends nothing to ``forbidden`` and (if ``must_fail``)
        exits non-zero."""
        run = self.run(scenario)
        for role, path in forbidden:
            if self.world.requests(role, path):
                raise CaseFailed(f"the client sent a request to the {role} at {path}")
        if must_fail and run.exit_code == 0:
            raise CaseFailed("the client exited 0 although it should have refused")


CLIENT: Suite[ClientContext] = Suite("client")


def _form_value(entry: Recorded, name: str) -> str | None:
    values = entry.form.get(name, [])
    return values[0] if len(values) == 1 else None


@CLIENT.case(
    "client-completes-the-flow",
    section="§4.3, §4.4",
    level=MUST,
    tags=("happy",),
    risk="a conforming IdP and AS do not get the client an access token",
)
def _completes(ctx: ClientContext) -> None:
    ctx.happy()


@CLIENT.case(
    "client-sends-exact-token-exchange-parameters",
    section="§4.3, RFC 8693 §2.1",
    level=MUST,
    tags=("happy", "request"),
    risk="the IdP misreads the request, or issues another kind of token",
)
def _exchange_params(ctx: ClientContext) -> None:
    ctx.happy()
    (entry,) = ctx.world.requests("idp", "/token")
    world = ctx.world
    expected = {
        spec.P_GRANT_TYPE: spec.GRANT_TOKEN_EXCHANGE,
        spec.P_REQUESTED_TOKEN_TYPE: spec.TOKEN_TYPE_ID_JAG,
        spec.P_AUDIENCE: world.authorization_server,
        spec.P_SUBJECT_TOKEN_TYPE: spec.TOKEN_TYPE_ID_TOKEN,
    }
    for name, value in expected.items():
        if _form_value(entry, name) != value:
            raise CaseFailed(f"{name} is not exactly {value!r}")
    if _form_value(entry, spec.P_SUBJECT_TOKEN) != world.subject_token:
        raise CaseFailed("subject_token is not the user's ID token")
    if any(len(values) > 1 for values in entry.form.values()):
        raise CaseFailed("a parameter is repeated")


@CLIENT.case(
    "client-sends-exact-jwt-bearer-parameters",
    section="§4.4, RFC 7523 §2.1",
    level=MUST,
    tags=("happy", "request"),
    risk="the AS cannot redeem the grant, or receives something else than the ID-JAG",
)
def _bearer_params(ctx: ClientContext) -> None:
    ctx.happy()
    (entry,) = ctx.world.requests("as", "/token")
    if _form_value(entry, spec.P_GRANT_TYPE) != spec.GRANT_JWT_BEARER:
        raise CaseFailed("grant_type is not jwt-bearer")
    if _form_value(entry, spec.P_ASSERTION) not in ctx.world.issued:
        raise CaseFailed("assertion is not the ID-JAG the IdP issued")


@CLIENT.case(
    "client-authenticates-at-both-servers-with-its-own-credentials",
    section="§4.4, §8.1, RFC 6749 §2.3",
    level=MUST,
    tags=("happy", "client"),
    risk="the client leaks its IdP secret to the AS, or redeems without authenticating",
)
def _credentials(ctx: ClientContext) -> None:
    ctx.happy()
    world = ctx.world
    (at_idp,) = world.requests("idp", "/token")
    (at_as,) = world.requests("as", "/token")
    if _client_of(at_idp) != (IDP_CLIENT, world.idp_secret):
        raise CaseFailed("the token exchange is not authenticated as the client at the IdP")
    if _client_of(at_as) != (AS_CLIENT, world.as_secret):
        raise CaseFailed("the jwt-bearer request is not authenticated as the client at the AS")
    for entry in world.requests("as") + world.requests("api"):
        if world.idp_secret.encode() in entry.body or world.idp_secret in str(entry.headers):
            raise CaseFailed("the IdP client secret was sent to the AS or the API")


def _client_of(entry: Recorded) -> tuple[str, str] | None:
    header = entry.headers.get("authorization")
    if header is not None and header.lower().startswith("basic "):
        with contextlib.suppress(Exception):
            raw_id, raw_secret = basic_credentials(header)
            return unquote_plus(raw_id), unquote_plus(raw_secret)
        return None
    client_id, secret = _form_value(entry, "client_id"), _form_value(entry, "client_secret")
    return (client_id, secret) if client_id and secret else None


_NOTHING_TO_AS = (("as", "/token"),)
_REFUSALS: list[tuple[str, str, str, Level, str, tuple[tuple[str, str], ...]]] = [
    ("client-aborts-on-idp-metadata-issuer-mismatch", "idp-issuer", "RFC 8414 §3.3",
     MUST, "a mix-up: the client sends the user's ID token to an impostor",
     (("idp", "/token"),)),
    ("client-aborts-on-as-metadata-issuer-mismatch", "as-issuer", "RFC 8414 §3.3", MUST,
     "a mix-up: the client sends the ID-JAG to an impostor AS", _NOTHING_TO_AS),
    ("client-rejects-wrong-issued-token-type", "issued-token-type", "§4.3.4, RFC 8693 §2.2.1",
     MUST, "the client presents a token of the wrong kind as a grant", _NOTHING_TO_AS),
    ("client-rejects-token-type-not-n-a", "token-type", "§4.3.4", SHOULD,
     "a non-conforming IdP response is trusted", _NOTHING_TO_AS),
    ("client-rejects-200-with-error-body", "error-200", "RFC 6749 §5.1, RFC 8693 §2.2.1",
     MUST, "an error body is taken for a token", _NOTHING_TO_AS),
    ("client-rejects-exchange-response-without-token", "no-token", "RFC 8693 §2.2.1", MUST,
     "a response without a token is taken for success", _NOTHING_TO_AS),
    ("client-does-not-send-id-jag-for-another-as", "jag-aud", "§3.1, §4.4.1", SHOULD,
     "the client forwards a grant meant for another AS (or is tricked into a mix-up)",
     _NOTHING_TO_AS),
    ("client-does-not-send-id-jag-for-another-client", "jag-client-id", "§3.1, §5", SHOULD,
     "the client forwards a grant the AS must refuse, leaking it", _NOTHING_TO_AS),
    ("client-does-not-send-id-jag-with-wrong-typ", "jag-typ", "§3", SHOULD,
     "the client forwards something that is not an ID-JAG", _NOTHING_TO_AS),
    ("client-does-not-present-expired-id-jag", "jag-expired", "§4.4.3", SHOULD,
     "the client presents a dead grant instead of asking for a new one", _NOTHING_TO_AS),
    ("client-never-follows-redirect-from-idp-token-endpoint", "idp-redirect",
     "RFC 9700 §4.12, RFC 9110 §15.4.8", BCP,
     "a 307 re-posts the ID token and the client secret to another origin",
     (("trap", "/token"),)),
    ("client-never-follows-redirect-from-as-token-endpoint", "as-redirect",
     "RFC 9700 §4.12, RFC 9110 §15.4.8", BCP,
     "a 307 re-posts the ID-JAG and the client secret to another origin",
     (("trap", "/token"),)),
    ("client-refuses-token-endpoint-on-another-origin", "idp-token-origin", "RFC 8414 §3.3",
     BCP, "metadata sends the client's secret and the user's ID token to another origin",
     (("trap", "/token"),)),
]  # fmt: skip


def _refusal(
    scenario: str, forbidden: tuple[tuple[str, str], ...]
) -> Callable[[ClientContext], None]:
    # A client that never reads the metadata's token_endpoint may succeed: it went nowhere else.
    must_fail = scenario != "idp-token-origin"
    return lambda ctx: ctx.refuses(scenario, forbidden=forbidden, must_fail=must_fail)


for _id, _scenario, _section, _level, _risk, _forbidden in _REFUSALS:
    CLIENT.add(_id, _refusal(_scenario, _forbidden), section=_section, level=_level,
               risk=_risk, tags=("negative",))  # fmt: skip


def _step_up_traffic(ctx: ClientContext, scenario: str) -> tuple[Run, list[Recorded]]:
    """Run ``scenario``; the client's API calls, or skip when it never calls the API."""
    run = ctx.run(scenario)
    calls = ctx.world.requests("api", "/api")
    if not calls:
        raise CaseSkipped("the client never called XAA_RESOURCE: scope step-up not exercised")
    return run, calls


@CLIENT.case(
    "client-steps-up-scope-once-on-insufficient-scope",
    section="RFC 6750 §3.1, §4.3, §4.4",
    level=SHOULD,
    tags=("scope", "step-up"),
    risk="the client cannot use an API that needs one more scope, or drops the scopes it held",
)
def _step_up(ctx: ClientContext) -> None:
    run, calls = _step_up_traffic(ctx, "step-up")
    exchanges = ctx.world.requests("idp", "/token")
    if len(exchanges) != 2:
        raise CaseFailed(
            f"{len(exchanges)} token exchanges around a 403 insufficient_scope, expected 2"
        )
    asked = set((_form_value(exchanges[1], spec.P_SCOPE) or "").split())
    if not {SCOPE, STEP_UP_SCOPE} <= asked:
        raise CaseFailed("the step-up exchange does not ask for the held and the needed scopes")
    if len(calls) != 2:
        raise CaseFailed(f"{len(calls)} API calls, expected one retry after the step-up")
    retried = calls[1].headers.get("authorization", "").partition(" ")[2]
    if STEP_UP_SCOPE not in ctx.world.granted.get(retried, "").split():
        raise CaseFailed("the retry does not present the stepped-up access token")
    if run.exit_code != 0:
        raise CaseFailed(f"the client failed after a successful step-up (exit {run.exit_code})")


@CLIENT.case(
    "client-does-not-loop-on-insufficient-scope",
    section="RFC 6750 §3.1",
    level=BCP,
    tags=("negative", "scope", "step-up"),
    risk="an API that keeps answering insufficient_scope makes the client mint tokens forever",
)
def _step_up_once(ctx: ClientContext) -> None:
    run, calls = _step_up_traffic(ctx, "step-up-always")
    exchanges = ctx.world.requests("idp", "/token")
    if len(calls) > 2 or len(exchanges) > 2:
        raise CaseFailed(
            f"{len(exchanges)} token exchanges and {len(calls)} API calls against an API"
            " that always answers insufficient_scope: at most one step-up and one retry"
        )
    if run.exit_code == 0:
        raise CaseFailed("the client exited 0 although the API refused every token")


def happy_path(ctx: ClientContext) -> None:
    """Run after every negative case."""
    ctx.happy()


def run_client_suite(
    target: ClientTarget,
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    on_result: Callable[[Result[ClientContext]], None] | None = None,
) -> Report[ClientContext]:
    """Run the selected client cases against the command of ``target``."""
    cases = CLIENT.select(only, skip)
    with mock_world() as world:
        context = ClientContext(target, world)
        label = shlex.split(target.command)[0] if target.command.strip() else "client"
        return run_suite(
            CLIENT.name, label, cases, context, happy_path=happy_path, on_result=on_result
        )
