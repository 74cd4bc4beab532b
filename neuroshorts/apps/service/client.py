"""A small client of the render API, for `neuroshorts submit` and scripts.

It submits a render and, if asked, follows the job until it ends, so a shell script can
use a running server the way it would use `neuroshorts render`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from neuroshorts.errors import ApiError


class Client:
    def __init__(self, url: str, api_key: str = "", timeout: float = 30.0) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _json(self, response: httpx.Response) -> Any:
        if response.is_success:
            return response.json()
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {"reason": response.text[:200]}
        raise ApiError(
            response.status_code,
            error.get("reason", "request refused"),
            error.get("field"),
            error.get("value"),
        )

    def submit(
        self,
        template: str,
        parameters: dict[str, Any],
        *,
        output: str | None = None,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """POST /v1/renders; the job as the API returns it."""
        body: dict[str, Any] = {"template": template, "parameters": parameters}
        if output:
            body["output"] = output
        if callback_url:
            body["callback_url"] = callback_url
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._json(self.http.post("/v1/renders", json=body, headers=headers))

    def job(self, job_id: str) -> dict[str, Any]:
        return self._json(self.http.get(f"/v1/renders/{job_id}"))

    def wait(
        self,
        job_id: str,
        *,
        poll: float = 1.0,
        timeout: float | None = None,
        on_update: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll the job until it succeeds, fails or is cancelled; returns its last state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if on_update is not None:
                on_update(job)
            if job["state"] in ("succeeded", "failed", "cancelled"):
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
            time.sleep(poll)
