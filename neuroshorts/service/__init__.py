"""The render service: a REST API, a Celery queue of render jobs, a job store, webhooks.

`config` (settings from NEUROSHORTS_* variables), `store` (jobs in SQL), `queue` (the
Celery app), `execute` (what a worker does with one job), `sweeper` (jobs whose worker
died go back in the queue), `webhooks`, `api` (FastAPI), `server` (the processes the CLI
starts) and `client` (the CLI's `submit`).
"""
