"""The REST API (FastAPI, OpenAPI at /docs): the app factory.

`create_app` builds one app for one set of settings: the job store and Celery app it
keeps on `app.state` (routes get them through `deps`), the routers of routes/, the error
handlers that give every error one JSON shape (errors.py), the body-size limit
(limits.py), and the reconciler thread that keeps the broker carrying what the store
says must run (reconcile.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from celery import Celery
from fastapi import Depends, FastAPI

import neuroshorts
from neuroshorts.apps.service import errors, limits, queue
from neuroshorts.apps.service.deps import ERRORS, require_key
from neuroshorts.apps.service.reconcile import Reconciler
from neuroshorts.apps.service.routes import batches, health, renders, templates
from neuroshorts.apps.service.store import JobStore
from neuroshorts.settings import Settings


def create_app(
    settings: Settings | None = None, *, celery: Celery | None = None, sweep: bool = True
) -> FastAPI:
    """The API for `settings`; `sweep` runs the reconciler in this process."""
    settings = settings or Settings()
    celery = celery or queue.make_celery(settings)
    store = JobStore(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reconciler = Reconciler(store, settings, celery) if sweep else None
        if reconciler:
            reconciler.start()
        yield
        if reconciler:
            reconciler.stop()
        store.close()

    app = FastAPI(
        title="NeuroShorts render service",
        version=neuroshorts.__version__,
        description="Render vertical shorts from template notebooks, queued and tracked.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.store, app.state.celery = settings, store, celery
    errors.install(app)
    app.add_middleware(limits.BodyLimit, limit=settings.max_body_bytes)
    app.include_router(health.router)
    for router in (templates.router, renders.router, batches.router):
        app.include_router(router, dependencies=[Depends(require_key)], responses=ERRORS)
    return app
