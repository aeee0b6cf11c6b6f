"""client_ip: REMOTE_ADDR unless the deployment says a proxy sets X-Forwarded-For."""

from django.test import RequestFactory

from hub.core.web import client_ip


def _request(**meta):
    return RequestFactory().get("/", **meta)


def test_forwarded_for_is_ignored_by_default(settings):
    settings.TRUST_X_FORWARDED_FOR = False
    request = _request(REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert client_ip(request) == "10.0.0.7"


def test_first_forwarded_address_is_used_behind_a_trusted_proxy(settings):
    settings.TRUST_X_FORWARDED_FOR = True
    request = _request(
        REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.2, 10.0.0.1"
    )
    assert client_ip(request) == "203.0.113.5"


def test_malformed_or_missing_forwarded_for_falls_back_to_remote_addr(settings):
    settings.TRUST_X_FORWARDED_FOR = True
    assert (
        client_ip(_request(REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="<script>")) == "10.0.0.7"
    )
    assert client_ip(_request(REMOTE_ADDR="10.0.0.7")) == "10.0.0.7"


def test_without_the_setting_the_header_is_not_trusted(settings):
    del settings.TRUST_X_FORWARDED_FOR
    request = _request(REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert client_ip(request) == "10.0.0.7"
