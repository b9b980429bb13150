"""The section numbers of draft-03, read from the draft's own Markdown source.

kramdown-rfc numbers ``#`` headings 1, 2, ... in the middle part and A, B, ...
after ``--- back``; code blocks (``~~~`` or indented) hold no headings.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

DRAFT_FILE = "draft-ietf-oauth-identity-assertion-authz-grant-03.md"
ROOT = Path(__file__).resolve().parents[2]
SECTION = re.compile(r"§\s?([0-9]+(?:\.[0-9]+)*|[A-C](?:\.[0-9]+)*)\b")
# A citation of another document ends the draft's part of a list of sections.
OTHER_DOCUMENT = re.compile(r"RFC|OpenID|OIDC|SAML|SPIFFE|JWT-SVID|xmldsig|I-D\.|[;)\]|]")


def draft_path() -> Path:
    """``shared/spec/<draft>`` beside the repository, or beside one of its parents."""
    for folder in ROOT.parents:
        candidate = folder / "shared" / "spec" / DRAFT_FILE
        if candidate.is_file():
            return candidate
    raise AssertionError(
        f"draft-03 not found: expected shared/spec/{DRAFT_FILE} beside the repository "
        f"({ROOT}) or beside one of its parent folders"
    )


@functools.cache
def draft_sections() -> dict[str, str]:
    """Section number -> heading, e.g. ``"7.1"`` -> ``"IdP Authorization Server Metadata"``."""
    sections: dict[str, str] = {}
    counters = [0] * 6
    back = fenced = False
    for line in draft_path().read_text("utf-8").splitlines():
        if line.startswith(("~~~", "```")):
            fenced = not fenced
            continue
        if fenced:
            continue
        if line.strip() == "--- back":
            back, counters = True, [0] * 6
            continue
        heading = re.match(r"(#{1,6})\s+(.*?)\s*(\{#[^}]*\})?$", line)
        if heading is None:
            continue
        level = len(heading.group(1))
        counters[level - 1] += 1
        counters[level:] = [0] * (6 - level)
        first = chr(ord("A") + counters[0] - 1) if back else str(counters[0])
        sections[".".join([first, *map(str, counters[1:level])])] = heading.group(2)
    return sections


def draft_part(text: str) -> list[str]:
    """The sections cited in ``text`` before it turns to another document."""
    stop = OTHER_DOCUMENT.search(text)
    return SECTION.findall(text[: stop.start()] if stop else text)
