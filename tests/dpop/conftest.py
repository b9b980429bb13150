from tests.support.redis import redis_url

__all__ = ["redis_url"]
