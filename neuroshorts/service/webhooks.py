"""Webhooks: POST a finished job to its `callback_url`, signed, retried, every try recorded.

This is how n8n learns a render ended without polling: its Wait node ("resume on webhook
call") hands out `$execution.resumeUrl`, the render request carries it as callback_url,
and the worker calls it once the job succeeds, fails or is cancelled. The body is the
job's JSON, exactly as `GET /v1/renders/{id}` returns it; `X-NeuroShorts-Signature` is
`sha256=` and the HMAC-SHA256 of the raw body with the shared secret, so a receiver can
tell our calls from forged ones (`verify`). A receiver that is down gets the call again
after 1, 2, 4... seconds; each attempt's status or error is stored on the job.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

import neuroshorts
from neuroshorts.service.config import Settings
from neuroshorts.service.schemas import FINAL
from neuroshorts.service.store import JobStore, now

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-NeuroShorts-Signature"


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
    with httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False) as client:
        for attempt in range(first, settings.webhook_attempts + 1):
            status, error, started = None, None, time.perf_counter()
            try:
                response = client.post(job.webhook.url, content=body, headers=headers)
                status = response.status_code
                if not response.is_success:
                    error = f"HTTP {status}: {response.text[:200]}"
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure}"
            delivered = error is None
            last = attempt == settings.webhook_attempts
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
            if not last:
                sleep(settings.webhook_backoff * 2 ** (attempt - first))
    return False
