"""FileActorTokenProvider: re-reads a refreshed JWT-SVID file, never sends an expired one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.actors.world import NOW, svid
from xaa.actors import ActorCredential, ActorTokenProvider, ActorTokenUnavailable
from xaa.adapters.actor_files import FileActorTokenProvider
from xaa.spec import TOKEN_TYPE_JWT


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def write(path: Path, token: str, mtime_ns: int) -> None:
    path.write_text(token + "\n")
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_reads_the_token_and_hides_it_from_repr(tmp_path: Path) -> None:
    path, token = tmp_path / "svid.jwt", svid()
    write(path, token, 1)
    provider = FileActorTokenProvider(path, clock=Clock(NOW))
    assert isinstance(provider, ActorTokenProvider)
    credential = provider.actor_credential()
    assert credential == ActorCredential(token, TOKEN_TYPE_JWT)
    assert token not in repr(credential)
    assert token not in repr(provider)


def test_rereads_when_the_agent_rewrites_the_file(tmp_path: Path) -> None:
    path = tmp_path / "svid.jwt"
    first, second = svid(), svid(exp=NOW + 280)
    write(path, first, 1)
    provider = FileActorTokenProvider(path, clock=Clock(NOW))
    assert provider.actor_credential().token == first
    write(path, second, 2)
    assert provider.actor_credential().token == second


def test_rereads_near_expiry_even_when_the_stamp_looks_unchanged(tmp_path: Path) -> None:
    path, clock = tmp_path / "svid.jwt", Clock(NOW)
    first = svid(exp=NOW + 100)
    write(path, first, 1)
    provider = FileActorTokenProvider(path, clock=clock, refresh_margin=30)
    assert provider.actor_credential().token == first
    fresh = svid(exp=NOW + 200)
    assert len(fresh) == len(first)
    write(path, fresh, 1)  # same size and mtime: only expiry triggers the re-read
    clock.now = NOW + 75
    assert provider.actor_credential().token == fresh


def test_an_expired_token_is_never_returned(tmp_path: Path) -> None:
    path = tmp_path / "svid.jwt"
    write(path, svid(exp=NOW + 10), 1)
    provider = FileActorTokenProvider(path, clock=Clock(NOW + 10))
    with pytest.raises(ActorTokenUnavailable, match="expired"):
        provider.actor_credential()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "unreadable"), ("not a jwt", "compact JWT"), ("", "compact JWT")],
)
def test_unusable_files_raise(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "svid.jwt"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ActorTokenUnavailable, match=message):
        FileActorTokenProvider(path, clock=Clock(NOW)).actor_credential()


def test_token_without_integer_exp_raises(tmp_path: Path) -> None:
    path, token = tmp_path / "svid.jwt", svid(exp="soon")
    write(path, token, 1)
    with pytest.raises(ActorTokenUnavailable, match="integer exp") as info:
        FileActorTokenProvider(path, clock=Clock(NOW)).actor_credential()
    assert token not in str(info.value)
