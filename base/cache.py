"""Django's Redis cache, carrying on without Redis.

With Redis down, every cache read is a miss and every write is skipped, so the sessions
(cached_db) fall back to the database and pages keep working. After a failure the cache
leaves Redis alone for RETRY_SECONDS, so an outage costs a request one failed connection
per process per second, not one per cache call.

A write skipped during an outage leaves Redis holding the old value, which would come back
with Redis: a session ended while it was down would be signed in again. So the keys written
meanwhile are remembered (per process) and deleted before Redis is used again.
"""

import logging
import threading
import time

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
STALE_LIMIT = 100_000  # keys remembered per process; past it, a warning says some may be stale
ERRORS = (redis.ConnectionError, redis.TimeoutError)


class Outage:
    """This process's view of Redis: down until when, and which keys went stale meanwhile."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.stale: set[str] = set()

    def is_down(self) -> bool:
        return time.monotonic() < self.down_until

    def began(self, error: Exception) -> None:
        with self.lock:
            if not self.down_until:
                log.warning("Redis unreachable, cache off until it answers: %s", error)
            self.down_until = time.monotonic() + RETRY_SECONDS

    def missed(self, keys) -> None:
        with self.lock:
            room = STALE_LIMIT - len(self.stale)
            keys = list(keys)
            if len(keys) > room:
                log.warning("Redis outage: %d cache keys may be stale after it", len(keys) - room)
            self.stale.update(keys[: max(room, 0)])

    def stale_delete(self, client: RedisCacheClient) -> None:
        """Delete the keys written during the outage; raises if Redis is still away."""
        with self.lock:
            stale, self.stale = self.stale, set()
            try:
                if stale:
                    RedisCacheClient.delete_many(client, list(stale))
            except BaseException:
                self.stale |= stale
                raise

    def ended(self) -> None:
        with self.lock:
            if self.down_until:
                self.down_until = 0.0
                log.warning("Redis answers again; the cache is back on")


outage = Outage()


class DegradingRedisCacheClient(RedisCacheClient):
    def _call(self, method: str, default, *args, written=()):
        if outage.is_down():
            outage.missed(written)
            return default
        try:
            if outage.down_until:  # the first call since a failure
                outage.stale_delete(self)
            result = getattr(RedisCacheClient, method)(self, *args)
        except ERRORS as error:
            outage.began(error)
            outage.missed(written)
            return default
        if outage.down_until:
            outage.ended()
        return result

    def add(self, key, value, timeout):
        return self._call("add", False, key, value, timeout, written=[key])

    def get(self, key, default):
        return self._call("get", default, key, default)

    def set(self, key, value, timeout):
        self._call("set", None, key, value, timeout, written=[key])

    def touch(self, key, timeout):
        return self._call("touch", False, key, timeout, written=[key])

    def delete(self, key):
        return self._call("delete", False, key, written=[key])

    def get_many(self, keys):
        return self._call("get_many", {}, keys)

    def has_key(self, key):
        return self._call("has_key", False, key)

    def incr(self, key, delta):
        missing = object()
        value = self._call("incr", missing, key, delta, written=[key])
        if value is missing:  # as with an empty cache
            raise ValueError(f"Key '{key}' not found.")
        return value

    def set_many(self, data, timeout):
        self._call("set_many", None, data, timeout, written=list(data))

    def delete_many(self, keys):
        self._call("delete_many", None, keys, written=list(keys))

    def clear(self):
        # Not replayed after an outage: Redis's database is shared with Celery's queues.
        return self._call("clear", False)


class DegradingRedisCache(RedisCache):
    """RedisCache whose calls never fail for want of Redis (see the module docstring)."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = DegradingRedisCacheClient
