"""A deliberately naive XAA client for the client suite to catch: it checks nothing,
ignores metadata and follows redirects. Run as a script with the suite's environment."""

from __future__ import annotations

import os
import sys

import httpx


def main() -> int:
    env = os.environ
    with httpx.Client(follow_redirects=True, timeout=10) as http:
        exchange = http.post(
            env["XAA_IDP_ISSUER"] + "/token",
            auth=(env["XAA_IDP_CLIENT_ID"], env["XAA_IDP_CLIENT_SECRET"]),
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "requested_token_type": "urn:ietf:params:oauth:token-type:id-jag",
                "audience": env["XAA_AS_ISSUER"],
                "subject_token": env["XAA_ID_TOKEN"],
                "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            },
        )
        id_jag = exchange.json()["access_token"]
        redeemed = http.post(
            env["XAA_AS_ISSUER"] + "/token",
            auth=(env["XAA_AS_CLIENT_ID"], env["XAA_AS_CLIENT_SECRET"]),
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": id_jag},
        )
    return 0 if redeemed.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
