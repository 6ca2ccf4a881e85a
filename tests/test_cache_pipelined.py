"""core.cache.pipelined: the hot requests' Redis round trip, on fakeredis and on a real Redis."""
import pytest
import redis
from flask import current_app
from redis.exceptions import NoScriptError, ResponseError

from core.cache import get_redis, pipelined


def test_replies_come_in_order_and_an_error_costs_only_its_own(ctx):
    get_redis().set("bs:test:text", "words")
    replies = pipelined([("SET", "bs:test:a", "1", "PX", 60_000), ("INCR", "bs:test:a"), ("INCR", "bs:test:text"),
                         ("EVALSHA", "0" * 40, 0), ("GET", "bs:test:a")])
    assert replies[:2] == ["OK", 2]
    assert isinstance(replies[2], ResponseError) and not isinstance(replies[2], NoScriptError)
    assert isinstance(replies[3], NoScriptError)  # run_scripts loads the script and sends the batch again
    assert replies[4] == "2"
    assert 0 < get_redis().pttl("bs:test:a") <= 60_000
    assert pipelined([]) == []


def test_the_connection_goes_back_to_the_pool_in_step(ctx):
    pool = get_redis().connection_pool
    for n in range(3):
        assert pipelined([("INCR", "bs:test:n"), ("EVALSHA", "0" * 40, 0), ("GET", "bs:test:n")])[2] == str(n + 1)
        assert not pool._in_use_connections  # released, and the next batch reads its own replies
    assert get_redis().get("bs:test:n") == "3"


def test_a_pooled_connection_redis_dropped_is_replaced(ctx):
    """The pool finds the dropped socket when it hands it out (a drop between that and the send is what the retry
    is for)."""
    client = get_redis()
    if "fakeredis" in type(client).__module__:
        pytest.skip("fakeredis has no sockets to drop")
    pooled, _ = pipelined([("CLIENT", "ID"), ("SET", "bs:test:dropped", "0")])
    other = redis.Redis.from_url(current_app.config["REDIS_URL"])  # a connection of its own, not the pool's
    assert other.client_kill_filter(_id=pooled) == 1  # as a Redis restart drops it: the pool still holds it
    other.close()
    assert pipelined([("INCR", "bs:test:dropped"), ("GET", "bs:test:dropped")]) == [1, "1"]
    assert pipelined([("CLIENT", "ID")]) != [pooled]
