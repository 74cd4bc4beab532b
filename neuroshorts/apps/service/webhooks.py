"""Webhooks: POST a finished job to its `callback_url`, signed, retried, every try recorded.

This is how n8n learns a render ended without polling: its Wait node ("resume on webhook
call") hands out `$execution.resumeUrl`, the render request carries it as callback_url,
and the worker calls it once the job succeeds, fails or is cancelled. The body is the
job's JSON, exactly as `GET /v1/renders/{id}` returns it; `X-NeuroShorts-Signature` is
`sha256=` and the HMAC-SHA256 of the raw body with the shared secret, so a receiver can
tell our calls from forged ones (`verify`). A receiver that is down gets the call again
after 1, 2, 4... seconds; each attempt's status or error is stored on the job.

A callback URL comes from a request, so it is checked like a media URL, against its own
allow-list (`NEUROSHORTS_CALLBACK_HOSTS`, default public hosts only; the compose file adds
n8n's service name): unchecked, a request could make a worker POST to a loopback Redis
or a cloud metadata address. The API refuses what it can judge without DNS (`check_url`:
literal addresses in any notation, `localhost`); every delivery attempt resolves the name,
judges every address it has, and connects to the address judged (`_pinned`), so a name
that resolves elsewhere by then (DNS rebinding) is refused too. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

import neuroshorts
from neuroshorts.apps.service.schemas import FINAL
from neuroshorts.apps.service.store import JobStore, now
from neuroshorts.errors import Refused
from neuroshorts.media.policy import Policy, parse_hosts
from neuroshorts.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-NeuroShorts-Signature"
CALLBACK_HOSTS_ENV = "NEUROSHORTS_CALLBACK_HOSTS"
_WEB = frozenset({"http", "https"})


def callback_policy(settings: Settings) -> Policy:
    """The hosts callbacks may reach, as `Policy` judges hosts (raises on a bad setting)."""
    public, names, networks = parse_hosts(settings.callback_hosts, CALLBACK_HOSTS_ENV)
    return Policy(_WEB, public, names, networks, max_bytes=0, variable=CALLBACK_HOSTS_ENV)


def check_url(url: str, policy: Policy) -> None:
    """Refuse a callback URL that is no http(s) URL, or whose host is visibly not allowed.

    Host names are judged by their addresses at every delivery (see `_pinned`), not here:
    the answer may differ by then, and a DNS lookup has no place in a submit.
    """
    try:
        parts = urlsplit(url)
        scheme, host, _ = parts.scheme, parts.hostname, parts.port  # a bad port raises
    except ValueError:
        scheme, host = "", None
    # Whitespace and control characters make no valid URL (and NUL no database text).
    if scheme not in _WEB or not host or not url.isprintable() or " " in url:
        raise Refused("is not a URL a callback can go to", "an http:// or https:// URL")
    policy.check_visible_host(host)


def sign(body: bytes, secret: str) -> str:
    """The signature header's value for `body`: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """True when `header` is the signature of the raw `body` under `secret`.

    For receivers (and tests): compare in constant time, and over the bytes as
    received, before any JSON parsing re-serialises them differently.
    """
    if not header or not secret:
        return False
    return hmac.compare_digest(sign(body, secret).encode(), header.encode())


def deliver(
    store: JobStore,
    settings: Settings,
    job_id: str,
    *,
    sleep: Callable[[float], Any] = time.sleep,
) -> bool:
    """Call the job's callback until it answers 2xx or the attempts run out.

    Does nothing for a job without a callback, one still running, or one already
    delivered (a worker that crashed after delivering must not call twice).
    """
    job = store.get(job_id)
    if job is None or job.webhook is None or job.state not in FINAL:
        return False
    if job.webhook.state != "pending":
        return job.webhook.state == "delivered"
    body = job.model_dump_json().encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"neuroshorts/{neuroshorts.__version__}",
        "X-NeuroShorts-Job": job.id,
        "X-NeuroShorts-Event": f"render.{job.state}",
    }
    if settings.webhook_secret:
        headers[SIGNATURE_HEADER] = sign(body, settings.webhook_secret)
    else:
        log.warning("no NEUROSHORTS_WEBHOOK_SECRET: the callback for %s goes unsigned", job.id)
    first = len(job.webhook.deliveries) + 1
    policy = callback_policy(settings)
    with httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False) as client:
        for attempt in range(first, settings.webhook_attempts + 1):
            status, error, final, started = None, None, False, time.perf_counter()
            try:
                url, host, extensions = _pinned(job.webhook.url, policy)
                response = client.post(
                    url, content=body, headers=headers | host, extensions=extensions
                )
                status = response.status_code
                if response.is_redirect:
                    where = response.headers.get("Location", "")
                    error, final = f"HTTP {status}: redirects are not followed ({where})", True
                elif not response.is_success:
                    error = f"HTTP {status}: {response.text[:200]}"
            except Refused as refused:
                error, final = f"refused: {refused}", True
            except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as failure:
                error = f"{type(failure).__name__}: {failure}"
            delivered = error is None
            last = final or attempt == settings.webhook_attempts
            record = {
                "attempt": attempt,
                "at": now().isoformat(),
                "status": status,
                "error": error,
                "seconds": round(time.perf_counter() - started, 3),
            }
            state = "delivered" if delivered else ("failed" if last else "pending")
            store.record_delivery(job.id, record, state)
            if delivered:
                log.info("webhook for %s delivered (attempt %d)", job.id, attempt)
                return True
            log.warning("webhook for %s, attempt %d: %s", job.id, attempt, error)
            if last:
                return False
            sleep(settings.webhook_backoff * 2 ** (attempt - first))
    return False


def _pinned(url: str, policy: Policy) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """`url` with its host replaced by an address the policy allows, to connect to that
    address and no other; the Host header and TLS (SNI, certificate) keep the name.

    Every address the name resolves to is judged: one refused refuses the host.
    """
    check_url(url, policy)
    target = httpx.URL(url)
    port = target.port or (443 if target.scheme == "https" else 80)
    found = socket.getaddrinfo(target.host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(entry[4][0]) for entry in found))
    policy.check_host(target.host, addresses)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    host = {"Host": target.netloc.decode("ascii")}
    return target.copy_with(host=addresses[0]), host, extensions
