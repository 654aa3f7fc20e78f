"""Parsing of a Mapping's `service` field."""

from __future__ import annotations

import pytest

from legation.compile.service import ServiceAddress, ServiceError, parse_service


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quote", ServiceAddress("quote", 80, False)),
        ("quote.default:8080", ServiceAddress("quote.default", 8080, False)),
        ("http://127.0.0.1:9001", ServiceAddress("127.0.0.1", 9001, False)),
        ("https://api.example.com", ServiceAddress("api.example.com", 443, True)),
        ("https://api.example.com:8443/", ServiceAddress("api.example.com", 8443, True)),
        ("[::1]:9000", ServiceAddress("::1", 9000, False)),
    ],
)
def test_parse_service(text: str, expected: ServiceAddress) -> None:
    assert parse_service(text) == expected


@pytest.mark.parametrize("text", ["ftp://x", "host:http", "host:70000", "http://", "a/b"])
def test_bad_service(text: str) -> None:
    with pytest.raises(ServiceError):
        parse_service(text)
