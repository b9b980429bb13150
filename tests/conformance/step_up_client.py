"""A client that calls the API and handles 403 insufficient_scope (RFC 6750 §3.1), for the
step-up cases of the client suite. ``once`` steps up once with the union of the scopes;
``loop`` steps up again and again; ``forget`` asks only for the missing scope."""

from __future__ import annotations

import os
import re
import sys

import httpx

MAX_STEPS = {"once": 1, "loop": 10, "forget": 1}


def access_token(http: httpx.Client, scope: str) -> str:
    env = os.environ
    exchange = http.post(
        env["XAA_IDP_ISSUER"] + "/token",
        auth=(env["XAA_IDP_CLIENT_ID"], env["XAA_IDP_CLIENT_SECRET"]),
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "requested_token_type": "urn:ietf:params:oauth:token-type:id-jag",
            "audience": env["XAA_AS_ISSUER"],
            "scope": scope,
            "subject_token": env["XAA_ID_TOKEN"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        },
    )
    redeemed = http.post(
        env["XAA_AS_ISSUER"] + "/token",
        auth=(env["XAA_AS_CLIENT_ID"], env["XAA_AS_CLIENT_SECRET"]),
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": exchange.json()["access_token"],
        },
    )
    return str(redeemed.json()["access_token"])


def main(mode: str) -> int:
    scope, api = os.environ["XAA_SCOPE"], os.environ["XAA_RESOURCE"]
    with httpx.Client(timeout=10) as http:
        token = access_token(http, scope)
        for _ in range(MAX_STEPS[mode]):
            answer = http.get(api, headers={"authorization": "Bearer " + token})
            challenge = answer.headers.get("www-authenticate", "")
            needed = re.search(r'scope="([^"]*)"', challenge)
            if answer.status_code != 403 or "insufficient_scope" not in challenge or not needed:
                return 0 if answer.is_success else 1
            wanted = set(needed.group(1).split())
            held = set(scope.split())
            scope = " ".join(sorted(wanted - held if mode == "forget" else wanted | held))
            token = access_token(http, scope)
        answer = http.get(api, headers={"authorization": "Bearer " + token})
    return 0 if answer.is_success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
