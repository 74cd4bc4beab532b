"""The job store: every render job's state in a SQL database, so jobs outlive restarts.

SQLite by default (one file in the data directory), PostgreSQL when configured. The API,
the workers and the reconciler all write here, often at once, so every change of
state is one conditional UPDATE (`... WHERE state = 'queued'`, `... AND attempt = 3`)
whose row count says whether it won: no read-then-write race, and a worker that lost its
job (requeued, cancelled) finds out on its next heartbeat instead of overwriting it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neuroshorts.apps.service.schemas import FINAL, Job, State, Webhook, Worker
from neuroshorts.apps.service.tables import Base, JobRow, add_missing_columns, make_engine
from neuroshorts.errors import IdempotencyConflict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewJob:
    """What the API has validated and wants queued."""

    template: str
    parameters: dict[str, Any]
    output: str
    callback_url: str | None = None
    idempotency_key: str | None = None
    fingerprint: str | None = None
    batch_id: str | None = None
    id: str = ""


@dataclass(frozen=True)
class Claim:
    """The outcome of a worker asking to run a job: the job, or why not."""

    job: Job | None
    reason: str = ""
    previous_host: str | None = None
    previous_kernel: int | None = None
    closed: Job | None = None


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class JobStore:
    """Jobs in the database at `url`; tables are created on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        sqlite = url.startswith("sqlite")
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if sqlite else nullcontext()
        )
        Base.metadata.create_all(self.engine)
        add_missing_columns(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A write transaction. On SQLite, this process's writers queue on a lock first:
        SQLite's own wait for its write lock sleeps in steps of up to 100 ms, which made
        the tail of concurrent API requests that long for a lock held a millisecond."""
        with self._write_lock, self._session() as session:
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    # -- creating and reading ------------------------------------------------------------

    def create(self, new: NewJob) -> tuple[Job, bool]:
        """Insert a queued job; with a known idempotency key, the first job instead.

        Returns the job and whether it is new. A key reused with other parameters
        raises IdempotencyConflict rather than silently returning an unrelated job.
        """
        return self.create_many([new])[0]

    def create_many(self, news: Sequence[NewJob], *, retry: bool = True) -> list[tuple[Job, bool]]:
        """`create` for several jobs (a batch) in one transaction: all are inserted or none.

        A key met twice answers the first job, also within the same call. The rows go in
        as one Core INSERT (for a batch of 500, one statement rather than 500).
        """
        try:
            with self._writing() as session:
                found = _resolve(news, self._by_keys(session, news), self._values)
                rows = [item for item, created in found if created]
                if rows:
                    session.execute(insert(JobRow), rows)
        except IntegrityError:
            # Another process stored one of the keys first: ask again, which finds it.
            if retry and any(new.idempotency_key is not None for new in news):
                return self.create_many(news, retry=False)
            raise
        return [(_job(_row(item)), created) for item, created in found]

    def _by_keys(self, session: Session, news: Sequence[NewJob]) -> dict[str, JobRow]:
        keys = {new.idempotency_key for new in news} - {None}
        if not keys:
            return {}
        query = select(JobRow).where(JobRow.idempotency_key.in_(keys))
        return {row.idempotency_key: row for row in session.scalars(query)}

    def _values(self, new: NewJob) -> dict[str, Any]:
        """A new job's row; the columns left out start NULL."""
        moment = now()
        return {
            "id": new.id or new_id(),
            "template": new.template,
            "parameters": new.parameters,
            "output": new.output,
            "state": State.queued,
            "stage": "queued",
            "progress": 0.0,
            "idempotency_key": new.idempotency_key,
            "fingerprint": new.fingerprint,
            "batch_id": new.batch_id,
            "callback_url": new.callback_url,
            "webhook_state": "pending" if new.callback_url else None,
            "deliveries": [],
            "cancel_requested": False,
            "attempt": 0,
            "created_at": moment,
            "updated_at": moment,
        }

    def forget_unsent(self, job_ids: Sequence[str]) -> None:
        """Delete those of the jobs never sent, so the retry of a request that could not
        be queued starts afresh."""
        statement = (
            delete(JobRow)
            .where(
                JobRow.id.in_(job_ids),
                JobRow.state == State.queued,
                JobRow.enqueued_at.is_(None),
            )
            .execution_options(synchronize_session=False)
        )
        with self._writing() as session:
            session.execute(statement)

    def get(self, job_id: str) -> Job | None:
        with self._session() as session:
            row = session.get(JobRow, job_id)
            return _job(row) if row is not None else None

    def list_jobs(
        self,
        state: State | None = None,
        batch_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Job], int]:
        """Jobs newest first, optionally of one state or batch, and how many match."""
        query = select(JobRow)
        counting = select(func.count()).select_from(JobRow)
        if state is not None:
            query, counting = (
                query.where(JobRow.state == state),
                counting.where(JobRow.state == state),
            )
        if batch_id is not None:
            query = query.where(JobRow.batch_id == batch_id)
            counting = counting.where(JobRow.batch_id == batch_id)
        query = query.order_by(JobRow.created_at.desc(), JobRow.id).limit(limit).offset(offset)
        with self._session() as session:
            return [_job(row) for row in session.scalars(query)], session.scalar(counting) or 0

    def count(self) -> int:
        with self._session() as session:
            return session.scalar(select(func.count()).select_from(JobRow)) or 0

    def active_with_output(self, output: str) -> str | None:
        """The id of a queued or running job writing `output`, if any."""
        query = select(JobRow.id).where(
            JobRow.output == output, JobRow.state.in_([State.queued, State.running])
        )
        with self._session() as session:
            return session.scalars(query).first()

    # -- the worker's side ---------------------------------------------------------------

    def claim(
        self,
        job_id: str,
        host: str,
        pid: int,
        *,
        max_attempts: int,
        lease: float,
        holder_alive: Callable[[str | None, int | None], bool],
    ) -> Claim:
        """Mark the job running for this worker, if nobody else may be running it.

        A queued job is claimed outright. A running one only when its holder is gone:
        its heartbeat is older than `lease`, or it ran on this host and its process is
        dead (a worker killed with SIGKILL, whose message the broker delivered again).
        """
        job = self.get(job_id)
        if job is None:
            return Claim(None, "no such job")
        if job.state in FINAL:
            return Claim(None, f"the job is already {job.state}")
        if job.state == State.running and not self.abandoned(job, lease, holder_alive):
            return Claim(None, f"the job is running on {job.worker.host} pid {job.worker.pid}")
        if job.cancel_requested:
            closed = self.finish(job, State.cancelled, stage="cancelled")
            return Claim(None, "it was cancelled while its worker was lost", closed=closed)
        if job.attempt >= max_attempts:
            error = (
                f"gave up after {job.attempt} attempts: the worker running it stopped "
                "(killed, out of memory or past the hard time limit) each time"
            )
            closed = self.finish(job, State.failed, error=error, error_kind="lost")
            return Claim(None, error, closed=closed)
        moment = now()
        claimed = self._update(
            job,
            state=State.running,
            stage="starting",
            progress=0.0,
            attempt=job.attempt + 1,
            worker_host=host,
            worker_pid=pid,
            kernel_pid=None,
            started_at=moment,
            error=None,
            error_kind=None,
        )
        if not claimed:
            return Claim(None, "another worker claimed it first")
        return Claim(
            self.get(job_id),
            previous_host=job.worker.host,
            previous_kernel=job.worker.kernel_pid,
        )

    def abandoned(
        self, job: Job, lease: float, holder_alive: Callable[[str | None, int | None], bool]
    ) -> bool:
        """A running job whose worker stopped answering, or died on this host."""
        stale = job.updated_at < now() - timedelta(seconds=lease)
        return stale or not holder_alive(job.worker.host, job.worker.pid)

    def _update(self, job: Job, **values: Any) -> bool:
        """Apply `values` only if the job is still in the state and attempt `job` shows."""
        statement = (
            update(JobRow)
            .where(
                JobRow.id == job.id,
                JobRow.state == job.state,
                JobRow.attempt == job.attempt,
            )
            .values(updated_at=now(), **values)
        )
        with self._writing() as session:
            return session.execute(statement).rowcount == 1

    def report(
        self, job_id: str, attempt: int, stage: str, progress: float, kernel_pid: int | None
    ) -> Job | None:
        """Heartbeat of a running attempt; None when the job is no longer this attempt's."""
        statement = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.attempt == attempt, JobRow.state == State.running)
            .values(updated_at=now(), stage=stage, progress=progress, kernel_pid=kernel_pid)
        )
        with self._writing() as session:
            if session.execute(statement).rowcount != 1:
                return None
            return _job(session.get(JobRow, job_id))  # type: ignore[arg-type]

    def finish(self, job: Job, state: State, **values: Any) -> Job | None:
        """Close the attempt `job` shows with a final state; None if it was not current."""
        moment = now()
        extra = {"progress": 1.0, "stage": "done"} if state == State.succeeded else {}
        closed = self._update(job, state=state, finished_at=moment, **(extra | values))
        return self.get(job.id) if closed else None

    def requeue(self, job: Job) -> bool:
        """Put an abandoned running job back in the queue (its message is sent after)."""
        return self._update(
            job, state=State.queued, stage="requeued", progress=0.0, enqueued_at=None
        )

    def mark_sent(self, job_ids: Sequence[str], moment: datetime) -> None:
        """Record that a message for each queued job was handed to the broker at `moment`
        (taken before sending, so a broker lost after it is known to have lost it)."""
        statement = (
            update(JobRow)
            .where(JobRow.id.in_(job_ids), JobRow.state == State.queued)
            .values(enqueued_at=moment)
            .execution_options(synchronize_session=False)
        )
        with self._writing() as session:
            session.execute(statement)

    def unmark_sent(self, before: datetime) -> list[Job]:
        """Mark unsent the queued jobs whose message went before `before` (the moment a
        broker was found to have lost its messages), and return them.

        The mark, not the sender's memory, keeps them due: should the sender die before
        it has sent them all again, the next sweep still finds the rest."""
        statement = (
            update(JobRow)
            .where(JobRow.state == State.queued, JobRow.enqueued_at < before)
            .values(enqueued_at=None)
            .returning(JobRow)
            .execution_options(synchronize_session=False)
        )
        with self._writing() as session:
            rows = session.scalars(statement).all()
            return sorted((_job(row) for row in rows), key=lambda job: (job.created_at, job.id))

    def to_send(self, *, unsent_for: float) -> list[Job]:
        """Queued jobs that need a message: none was sent for `unsent_for` seconds (their
        sender died, the broker refused, or a lost message was never sent again)."""
        query = (
            select(JobRow)
            .where(
                JobRow.state == State.queued,
                JobRow.enqueued_at.is_(None),
                JobRow.updated_at < now() - timedelta(seconds=unsent_for),
            )
            .order_by(JobRow.created_at, JobRow.id)
        )
        with self._session() as session:
            return [_job(row) for row in session.scalars(query)]

    def running(self) -> list[Job]:
        with self._session() as session:
            rows = session.scalars(select(JobRow).where(JobRow.state == State.running))
            return [_job(row) for row in rows]

    # -- cancel and webhooks -------------------------------------------------------------

    def request_cancel(self, job_id: str) -> Job | None:
        """Cancel a queued job at once; ask the worker of a running one to stop it."""
        with self._writing() as session:
            moment = now()
            session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == State.queued)
                .values(
                    state=State.cancelled,
                    stage="cancelled",
                    cancel_requested=True,
                    finished_at=moment,
                    updated_at=moment,
                )
            )
            session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == State.running)
                .values(cancel_requested=True)
            )
        return self.get(job_id)

    def record_delivery(self, job_id: str, delivery: dict[str, Any], webhook_state: str) -> None:
        """Append one webhook attempt to the job (only its worker delivers, so no race)."""
        with self._writing() as session:
            row = session.get(JobRow, job_id)
            if row is None:
                return
            row.deliveries = [*row.deliveries, delivery]
            row.webhook_state = webhook_state


def _resolve(
    news: Sequence[NewJob],
    known: dict[str, JobRow],
    make: Callable[[NewJob], dict[str, Any]],
) -> list[tuple[JobRow | dict[str, Any], bool]]:
    """The request's jobs: the one its key already made (False) or a new row (True)."""
    mine: dict[str, JobRow | dict[str, Any]] = {}
    found: list[tuple[JobRow | dict[str, Any], bool]] = []
    for new in news:
        key = new.idempotency_key
        # An empty key is a key too (`if key` would store it twice and fail the insert).
        existing = mine.get(key, known.get(key)) if key is not None else None
        if existing is None:
            row = make(new)
            found.append((row, True))
            if key is not None:
                mine[key] = row
        elif _row(existing).fingerprint != new.fingerprint:
            raise IdempotencyConflict(
                f"Idempotency-Key {key!r} was already used for a different request"
            )
        else:
            found.append((existing, False))
    return found


def _row(item: JobRow | dict[str, Any]) -> JobRow:
    return JobRow(**item) if isinstance(item, dict) else item


def _job(row: JobRow) -> Job:
    manifest = row.manifest or {}
    links = {
        "self": f"/v1/renders/{row.id}",
        "notebook": f"/v1/renders/{row.id}/notebook",
        "log": f"/v1/renders/{row.id}/log",
    }
    if row.state == State.succeeded:
        links["video"] = f"/v1/renders/{row.id}/video"
    return Job(
        id=row.id,
        state=State(row.state),
        template=row.template,
        parameters=row.parameters,
        output=row.output,
        progress=row.progress,
        stage=row.stage,
        error=row.error,
        error_kind=row.error_kind,
        manifest=row.manifest,
        video_url=manifest.get("video_url"),
        share_url=manifest.get("share_url"),
        expires_at=manifest.get("expires_at"),
        cancel_requested=row.cancel_requested,
        attempt=row.attempt,
        batch_id=row.batch_id,
        idempotency_key=row.idempotency_key,
        webhook=(
            Webhook(
                url=row.callback_url,
                state=row.webhook_state or "pending",
                deliveries=row.deliveries,
            )
            if row.callback_url
            else None
        ),
        worker=Worker(host=row.worker_host, pid=row.worker_pid, kernel_pid=row.kernel_pid),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        updated_at=row.updated_at,
        links=links,
    )
