"""ReplayStore backends: memory, SQLite (durable, cross-process), Redis (real server)."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port
from xaa import ReplayStore, ReplayStoreUnavailable
from xaa.adapters.redis_store import RedisReplayStore
from xaa.stores import MemoryReplayStore, SqliteReplayStore

NOW = 1_800_000_000.0


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReplayStore]:
    if request.param == "memory":
        yield MemoryReplayStore()
    elif request.param == "sqlite":
        yield SqliteReplayStore(tmp_path / "replay.db")
    else:
        url = request.getfixturevalue("redis_url")
        redis_store = RedisReplayStore(url, prefix=f"t{id(request)}")
        yield redis_store
        redis_store.close()


def test_first_use_then_holder(store: ReplayStore) -> None:
    assert store.claim("id-jag", "iss", "j1", holder="a", expires_at=NOW + 60, now=NOW) is None
    assert store.claim("id-jag", "iss", "j1", holder="b", expires_at=NOW + 60, now=NOW) == "a"


def test_key_is_namespace_issuer_and_jti(store: ReplayStore) -> None:
    assert store.claim("id-jag", "iss", "j2", holder="a", expires_at=NOW + 60, now=NOW) is None
    assert store.claim("id-jag", "iss2", "j2", holder="a", expires_at=NOW + 60, now=NOW) is None
    assert store.claim("dpop", "iss", "j2", holder="a", expires_at=NOW + 60, now=NOW) is None
    # "is:s" + "j" must not collide with "is" + "s:j"
    assert store.claim("id-jag", "is:s", "j", holder="a", expires_at=NOW + 60, now=NOW) is None
    assert store.claim("id-jag", "is", "s:j", holder="a", expires_at=NOW + 60, now=NOW) is None


def test_concurrent_threads_one_winner(store: ReplayStore) -> None:
    results: list[str | None] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        got = store.claim("id-jag", "iss", "race", holder=f"h{i}", expires_at=NOW + 60, now=NOW)
        with lock:
            results.append(got)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 1


def test_memory_and_sqlite_expiry(tmp_path: Path) -> None:
    for s in (MemoryReplayStore(), SqliteReplayStore(tmp_path / "e.db")):
        assert s.claim("n", "i", "j", holder="a", expires_at=NOW + 1, now=NOW) is None
        assert s.claim("n", "i", "j", holder="b", expires_at=NOW + 60, now=NOW + 0.5) == "a"
        assert s.claim("n", "i", "j", holder="b", expires_at=NOW + 60, now=NOW + 1) is None


def test_sqlite_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "durable.db"
    SqliteReplayStore(path).claim("n", "i", "j", holder="a", expires_at=NOW + 60, now=NOW)
    assert SqliteReplayStore(path).claim("n", "i", "j", holder="b", expires_at=NOW, now=NOW) == "a"


def _claim_in_process(path: str, index: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    got = SqliteReplayStore(path).claim(
        "id-jag", "iss", "proc", holder=f"p{index}", expires_at=NOW + 60, now=NOW
    )
    out.put(got)


def test_sqlite_is_atomic_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    SqliteReplayStore(path)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(path, i, queue)) for i in range(6)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join()
    assert results.count(None) == 1


def test_sqlite_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ReplayStoreUnavailable):
        SqliteReplayStore(tmp_path / "missing-dir" / "x.db")


def test_redis_unreachable_raises_unavailable() -> None:
    store = RedisReplayStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    attempt: Callable[[], object] = lambda: store.claim(  # noqa: E731
        "n", "i", "j", holder="a", expires_at=NOW + 60, now=NOW
    )
    with pytest.raises(ReplayStoreUnavailable):
        attempt()


@pytest.mark.redis
def test_redis_key_expires(redis_url: str) -> None:
    import time

    store = RedisReplayStore(redis_url, prefix="exp")
    now = time.time()
    assert store.claim("n", "i", "j", holder="a", expires_at=now + 60, now=now) is None
    ttl = store._redis.pttl("exp:n:1:i:j")
    assert 0 < ttl <= 60_000


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[str]:
    """A redis-server of this test alone (its CONFIG is changed), files under tmp_path."""
    from tests.support.redis import start_redis, stop_redis

    url, proc = start_redis(cwd=str(tmp_path))
    try:
        yield url
    finally:
        stop_redis(proc)


@pytest.mark.redis
def test_redis_without_persistence_warns_at_startup(
    own_redis: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from reference_resource import Settings, create_app

    settings = Settings.make(port=free_port(), db=str(tmp_path / "chat.db"), replay=own_redis)
    with caplog.at_level(logging.WARNING, logger="xaa.adapters.redis_store"):
        create_app(settings)
    warnings = [r.getMessage() for r in caplog.records if r.name == "xaa.adapters.redis_store"]
    assert len(warnings) == 1
    assert "no persistence" in warnings[0]
    assert "appendonly" in warnings[0] and "save" in warnings[0]
    assert all(
        r.levelno == logging.WARNING for r in caplog.records if r.name == "xaa.adapters.redis_store"
    )


@pytest.mark.redis
def test_redis_persistence_check_names_rdb_only_and_accepts_aof(own_redis: str) -> None:
    store = RedisReplayStore(own_redis)
    try:
        store._redis.config_set("save", "60 1")
        rdb_only = store.check_persistence()
        assert rdb_only is not None and "RDB snapshots" in rdb_only and "appendonly" in rdb_only
        store._redis.config_set("appendonly", "yes")
        assert store.check_persistence() is None
    finally:
        store._redis.config_set("appendonly", "no")  # a quick shutdown
        store._redis.config_set("save", "")
        store.close()


def test_redis_persistence_check_when_unreachable_warns() -> None:
    store = RedisReplayStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    problem = store.check_persistence()
    assert problem is not None and "CONFIG GET appendonly / save" in problem


def test_unreachable_redis_fails_the_startup_check_without_its_password() -> None:
    port = free_port()
    store = RedisReplayStore(f"redis://:hunter2@127.0.0.1:{port}/0", timeout=0.2)
    with pytest.raises(ReplayStoreUnavailable, match=f"127.0.0.1:{port} is unreachable") as info:
        store.check()
    assert "hunter2" not in str(info.value)


@pytest.mark.redis
def test_reachable_redis_passes_the_startup_check(redis_url: str) -> None:
    RedisReplayStore(redis_url).check()
