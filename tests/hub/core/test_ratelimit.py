import uuid

import pytest

from hub.core.ratelimit import RateLimited, rate_limit


def test_rate_limit_allows_up_to_the_limit_then_refuses_with_retry_after():
    key = uuid.uuid4().hex
    for _ in range(3):
        rate_limit(scope="post", key=key, limit=3, period_seconds=60)
    with pytest.raises(RateLimited) as refused:
        rate_limit(scope="post", key=key, limit=3, period_seconds=60)
    assert 1 <= refused.value.retry_after <= 61
    assert "try again in" in str(refused.value)


def test_rate_limits_of_different_keys_and_scopes_are_independent():
    key = uuid.uuid4().hex
    rate_limit(scope="vote", key=key, limit=1, period_seconds=60)
    rate_limit(scope="vote", key=key + "-other", limit=1, period_seconds=60)
    rate_limit(scope="post", key=key, limit=1, period_seconds=60)
    with pytest.raises(RateLimited):
        rate_limit(scope="vote", key=key, limit=1, period_seconds=60)
