"""client_ip: REMOTE_ADDR, or the X-Forwarded-For entry the deployment's own proxies added.

Each proxy appends the address it received the request from, so with N trusted proxies the
client is the Nth entry from the right; anything to its left the client may have written."""

from django.test import RequestFactory

from hub.core.web import client_ip


def _request(**meta):
    return RequestFactory().get("/", **meta)


def test_forwarded_for_is_ignored_without_trusted_proxies(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = _request(REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert client_ip(request) == "10.0.0.7"


def test_without_the_setting_the_header_is_not_trusted(settings):
    del settings.TRUSTED_PROXY_COUNT
    request = _request(REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert client_ip(request) == "10.0.0.7"


def test_behind_one_proxy_the_rightmost_address_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client wrote "198.51.100.99" itself; our proxy appended the address it saw.
    request = _request(REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="198.51.100.99, 203.0.113.5")
    assert client_ip(request) == "203.0.113.5"


def test_behind_two_proxies_the_second_address_from_the_right_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    request = _request(
        REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5, 10.0.0.1"
    )
    assert client_ip(request) == "203.0.113.5"


def test_malformed_short_or_missing_forwarded_for_falls_back_to_remote_addr(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(_request(REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="<x>, 10.0.0.1")) == (
        "10.0.0.7"
    )
    assert client_ip(_request(REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="203.0.113.5")) == (
        "10.0.0.7"
    )
    assert client_ip(_request(REMOTE_ADDR="10.0.0.7")) == "10.0.0.7"
