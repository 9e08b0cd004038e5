"""The client's address behind reverse proxies: login throttling and /metrics' allow-list."""

from __future__ import annotations

from django.test import RequestFactory, override_settings

from confops.common.addresses import client_address


def address(forwarded: str | None, peer: str = "10.0.0.2") -> str:
    meta = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **meta))


@override_settings(TRUSTED_PROXY_COUNT=0)
def test_without_a_proxy_the_peer_is_the_client_whatever_it_claims() -> None:
    assert address("203.0.113.9") == "10.0.0.2"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_the_address_it_appended_counts_not_what_the_client_wrote() -> None:
    assert address("198.51.100.7") == "198.51.100.7"
    assert address("1.2.3.4, 198.51.100.7") == "198.51.100.7"  # 1.2.3.4: the client's own claim


@override_settings(TRUSTED_PROXY_COUNT=2)
def test_behind_two_proxies_the_second_entry_from_the_right_counts() -> None:
    assert address("1.2.3.4, 198.51.100.7, 10.0.0.9") == "198.51.100.7"
    assert address("10.0.0.9") == "10.0.0.2"  # came around a proxy: only the peer is known


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_a_forwarded_entry_that_is_no_address_is_not_believed() -> None:
    assert address("not-an-ip") == "10.0.0.2"
