import pytest

from tests.support.redis import redis_url

__all__ = ["redis_url"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
