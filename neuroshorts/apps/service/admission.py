"""What a submit does, for one render or a batch: check every request, store the jobs,
send their messages.

A request is checked against the template's parameters, the limits, the media and
output rules and the callback allow-list before anything is stored or queued, so a typo
comes back at once as a 422 naming the field instead of as a failed job minutes later.
The jobs of one request are stored in one transaction, all or none, and only then sent:
a worker never gets a message for a job it cannot find. A job stored whose message is
lost in between is sent by the reconciler (reconcile.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from celery import Celery

from neuroshorts.apps.service import catalog, limits, outputs, reconcile, references, webhooks
from neuroshorts.apps.service.schemas import Job
from neuroshorts.apps.service.store import JobStore, NewJob, new_id
from neuroshorts.errors import ApiError, IdempotencyConflict, ParameterError, Refused, TemplateError
from neuroshorts.settings import Settings


@dataclass(frozen=True)
class Request:
    """One render as a client asked for it (`where` prefixes field names: `rows[3].`)."""

    template: str
    parameters: dict[str, Any]
    output: str | None = None
    callback_url: str | None = None
    idempotency_key: str | None = None
    batch_id: str | None = None
    where: str = ""

    def field(self, name: str) -> str:
        return f"{self.where}{name}"


def check(settings: Settings, store: JobStore, request: Request) -> NewJob:
    """The job `request` makes, or the ApiError that names what is wrong with it."""
    where, parameters_field = request.where, request.where.rstrip(".") or "parameters"
    limits.check_text(
        {
            request.field("template"): request.template,
            parameters_field: request.parameters,
            request.field("output"): request.output,
            "callback_url": request.callback_url,
        }
    )
    try:
        checked = catalog.check(request.template, request.parameters)
        _, schema = catalog.schema(request.template)
    except TemplateError as error:
        raise ApiError(404, str(error), "template", request.template) from None
    except ParameterError as error:
        field = f"{where}{error.name}" if where else f"parameters.{error.name}"
        raise ApiError(422, str(error), field, error.value) from None
    defaults = {name: parameter.default for name, parameter in schema.items()}
    limits.check(settings, checked, defaults, where or "parameters.")
    references.check(settings, checked, where or "parameters.")
    if request.callback_url is not None:
        try:
            webhooks.check_url(request.callback_url, webhooks.callback_policy(settings))
        except Refused as refused:
            reason = f"{refused.problem}; expected {refused.expected}"
            # One per request, also for a batch: the field is the request's, not a row's.
            raise ApiError(422, reason, "callback_url", request.callback_url) from None
    job_id = new_id()
    path = outputs.resolve(
        settings.output_root,
        job_id,
        request.output,
        request.field("output"),
        settings.output_prefixes,
    )
    if request.output is not None and (other := store.active_with_output(path)):
        message = f"job {other} is already rendering to {request.output}"
        raise ApiError(409, message, request.field("output"), request.output)
    fingerprint = hashlib.sha256(
        json.dumps(
            [request.template, checked, request.output, request.callback_url], sort_keys=True
        ).encode()
    ).hexdigest()
    return NewJob(
        request.template,
        checked,
        path,
        request.callback_url,
        request.idempotency_key,
        fingerprint,
        request.batch_id,
        job_id,
    )


def submit(
    settings: Settings, store: JobStore, celery: Celery, news: list[NewJob]
) -> list[tuple[Job, bool]]:
    """Store the jobs (all or none) and send the new ones; each job and whether it is new.

    A broker that stays unreachable through the send's retries (about 4 s) makes a 503,
    and the jobs not sent are forgotten, so the client's retry starts afresh.
    """
    try:
        results = store.create_many(news)
    except IdempotencyConflict as error:
        raise ApiError(409, str(error), "Idempotency-Key") from None
    created = [job for job, new in results if new]
    try:
        reconcile.send(store, settings, celery, created)
    except Exception as error:
        store.forget_unsent([job.id for job in created])
        raise ApiError(503, f"the queue is unreachable: {error}", "broker") from None
    return results
