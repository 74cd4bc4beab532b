"""The Celery app of a worker, for Celery's own tools: `celery -A neuroshorts.apps.service.worker`.

`neuroshorts worker` starts the same app from its settings; this module is for `celery
inspect`, `celery purge`, Flower and the like, configured from NEUROSHORTS_* variables.
"""

from __future__ import annotations

from neuroshorts.apps.service.tasks import worker_app
from neuroshorts.settings import Settings

app = worker_app(Settings())
