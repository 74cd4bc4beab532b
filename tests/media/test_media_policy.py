"""The media policy: one module decides what a media reference may be, for every caller."""

from __future__ import annotations

import pytest

from neuroshorts.errors import Refused
from neuroshorts.media.policy import Policy, scheme_of


@pytest.fixture
def policy(monkeypatch):
    for name in ("NEUROSHORTS_ALLOWED_SCHEMES", "NEUROSHORTS_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    return Policy.from_env()


@pytest.mark.parametrize(
    ("reference", "scheme"),
    [
        ("clip.mp4", "file"),
        ("file:///srv/clip.mp4", "file"),
        ("builtin:aurora", "builtin"),
        ("stock:pexels/ocean waves", "stock"),
        ("HTTPS://cdn.example.com/a.jpg", "https"),
        ("s3://bucket/a.jpg", "s3"),
    ],
)
def test_the_scheme_of_every_kind_of_reference(reference, scheme):
    assert scheme_of(reference) == scheme


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("/etc/hostname.jpg", "is a file on the server"),
        ("file:///etc/passwd", "is a file on the server"),
        ("builtin:../../etc/x", "is not a bundled name"),
        ("http://127.0.0.1/x.jpg", "is a loopback address"),
        ("http://localhost:9/x.jpg", "resolves to 127.0.0.1, a loopback address"),
        ("http://api.localhost/x.jpg", "resolves to 127.0.0.1, a loopback address"),
        ("http://0x7f.0.0.1/x.jpg", "127.0.0.1 in another notation"),
        ("http:///x.jpg", "has no host"),
        ("http://[::1/x.jpg", "is not a valid URL"),
        ("ftp://example.com/x.jpg", "ftp scheme, which is not supported"),
    ],
)
def test_a_reference_is_refused_for_what_shows_without_dns(policy, reference, says):
    with pytest.raises(Refused) as refused:
        policy.without_local_files().check_reference(reference)
    assert says in str(refused.value)


@pytest.mark.parametrize(
    "reference",
    ["builtin:aurora", "https://cdn.example.com/a.jpg", "s3://bucket/a.jpg", "stock:pexels/sea"],
)
def test_what_the_policy_allows_passes_without_a_lookup(policy, reference):
    policy.without_local_files().check_reference(reference)


def test_local_files_are_the_users_own_unless_the_service_refuses_them(policy):
    policy.check_reference("/home/me/photo.jpg")
    assert "file" not in policy.without_local_files().schemes
    assert "file" in policy.schemes  # the policy itself is unchanged


def test_a_listed_loopback_host_is_allowed_by_name_or_address(monkeypatch):
    monkeypatch.setenv("NEUROSHORTS_ALLOWED_HOSTS", "public,127.0.0.1")
    Policy.from_env().check_url("http://localhost:9/x.jpg")
    Policy.from_env().check_url("http://127.0.0.1:9/x.jpg")
