"""The render service: a REST API, a Celery queue of render jobs, a job store, webhooks.

Its settings are `neuroshorts.settings.Settings`, shared with the engines. `store` (jobs
in SQL), `queue` (the Celery app), `tasks` (the worker's task), `execute` (what a worker
does with one job), `reconcile` (the store and the broker kept in step), `webhooks`
(callbacks), `api` (the FastAPI app factory) with its `routes`, `deps` and `admission`
(what a submit checks and does), `server` (the processes the CLI starts) and `client`
(the CLI's `submit`).
"""
