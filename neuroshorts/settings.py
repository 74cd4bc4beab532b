"""Every setting of NeuroShorts, engines and service alike: `NEUROSHORTS_*` variables.

`Settings` lists each variable once, with its default and what it is for; the README's
table is checked against it (tests/test_settings.py). Code reads `settings()`, never the
environment itself, so a newcomer finds every knob here.

The environment stays the source of truth: a worker sets a variable for the kernels it
starts, a test sets one with monkeypatch, an operator exports one before a command. So
`settings()` builds the object once per environment and builds it again when the
environment has changed; every read sees the values of that moment, as when each module
read `os.environ` itself, and an unchanged environment costs a look-up. (The few other
uses of `os.environ` write a child process's environment or read a library's own
variable, and say so.)

Values with a syntax of their own (sizes such as `500MB`, host lists, log rotation
counts, a share link's lifetime) are kept as text here and parsed where they are used,
whose errors name the variable, the value and what fits. An empty variable is an unset
one (a compose file's `KEY=`), except on the allow-lists, where empty means "none".

Every default path is in one data directory, so `neuroshorts serve` on a laptop needs no
server at all: a file-system broker and a SQLite job store. A distributed setup changes
three variables (broker, database, output directory on shared storage) and nothing else.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger(__name__)

PREFIX = "NEUROSHORTS_"
#: The data directory's old name, still read (with a warning) when the new one is unset.
OLD_DATA_DIR = "NEUROSHORTS_HOME"
#: URL schemes of the buckets outputs and templates may live in.
BUCKET_SCHEMES = ("s3", "gs")
#: Settings where an empty value is meaningful: nothing is allowed.
ALLOW_LISTS = frozenset({"allowed_schemes", "allowed_hosts", "callback_hosts"})


class Settings(BaseSettings):
    """One place for what the engines, the CLI, the API and the workers must agree on."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", validate_by_name=True)

    # --- where things are -----------------------------------------------------------------
    data_dir: Path = Field(
        default_factory=lambda: Path.home() / ".neuroshorts",
        description="root of every default path: logs, caches, voices, the service's files",
    )
    home: Path | None = Field(None, description=f"deprecated: {OLD_DATA_DIR}, the old data_dir")
    templates: str = Field(
        "", description="folders searched for templates first, separated like PATH"
    )
    voices: Path | None = Field(None, description="Piper voices; unset: data_dir/voices")
    voices_url: str = Field(
        "https://huggingface.co/rhasspy/piper-voices/resolve/main",
        description="base URL of the Piper voice catalogue",
    )
    allow_download: bool = Field(
        False, description="install a missing Piper voice from the catalogue on first use"
    )

    # --- media from URLs, and publishing (parsed by neuroshorts.media) --------------------
    allowed_schemes: str | None = Field(
        None, description="comma list of schemes; unset: every scheme the resolver knows"
    )
    allowed_hosts: str = Field(
        "public", description="comma list of host names, addresses, networks, `public`"
    )
    max_asset_bytes: str | None = Field(None, description="largest file fetched; unset: 500MB")
    cache_max_bytes: str | None = Field(None, description="budget of the cache; unset: 5GB")
    share_expiry: str | None = Field(
        None, description="seconds a share link is valid, 0 for none; unset: 604800 (7 days)"
    )
    pexels_api_key: str = Field("", validation_alias="PEXELS_API_KEY", description="stock:pexels")
    pixabay_api_key: str = Field(
        "", validation_alias="PIXABAY_API_KEY", description="stock:pixabay"
    )
    pexels_url: str = Field("https://api.pexels.com", description="Pexels API base URL")
    pixabay_url: str = Field("https://pixabay.com/api", description="Pixabay API base URL")

    # --- rendering, notebooks and logs ------------------------------------------------------
    progress_file: Path | None = Field(
        None, description="where the compositor writes its frame count (set by the runner)"
    )
    encoder_threads: int = Field(
        0,
        ge=0,
        description="x264 threads of one render; 0: x264's own (~1.5 a core) for a render "
        "that starts encoding alone, else cores / the renders encoding on the machine",
    )
    headless: bool = Field(False, description="behave as in papermill even in a notebook")
    log_file: Path | None = Field(None, description="unset: data_dir/logs/neuroshorts.log")
    log_format: str | None = Field(None, description="text or json; unset: text")
    log_max_bytes: str | None = Field(None, description="size of a log file before it rotates")
    log_backups: str | None = Field(None, description="rotated log files kept")

    # --- the render service ---------------------------------------------------------------
    api_url: str = Field("", description="the API `submit` talks to; empty: http://HOST:PORT")
    broker_url: str = Field("", description="Celery broker; empty: filesystem:// in data_dir")
    # JSON decoded by the validator below, so an empty variable is unset like the others.
    broker_options: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict, description="extra kombu transport options (JSON)"
    )
    database_url: str = Field("", description="SQLAlchemy URL; empty: SQLite in data_dir")
    queue: str = Field("neuroshorts", description="the queue render jobs go through")
    output_dir: Path | None = Field(None, description="where videos go; empty: data_dir/renders")
    output_url: str = Field(
        "",
        description="the bucket prefix videos go to, when NEUROSHORTS_OUTPUT_DIR is an "
        "s3:// or gs:// URL: each job's files under <output_url><job id>/",
    )
    link_expiry: int = Field(
        3600,
        ge=1,
        le=7 * 24 * 3600,
        description="seconds a signed link the API redirects to (/video, /notebook) lasts",
    )

    api_key: str = Field("", description="required in X-API-Key when set")
    webhook_secret: str = Field("", description="HMAC-SHA256 key of webhook signatures")
    host: str = "127.0.0.1"
    port: int = 8000

    worker_name: str = Field("", description="Celery node name; empty: celery@<host>")
    concurrency: int = Field(1, ge=1, description="renders at once per worker")
    render_priority: Literal["idle", "normal"] = Field(
        "idle",
        description="idle: renders take only CPU nothing else wants, so an API beside "
        "them answers at once (see priority.py); normal: they share it",
    )
    soft_time_limit: float = Field(600.0, gt=0, description="seconds before a render is stopped")
    time_limit: float = Field(660.0, gt=0, description="seconds before its process is killed")
    visibility_timeout: float = Field(
        0.0, ge=0, description="Redis/SQS redelivery delay; 0: time_limit plus a margin"
    )
    max_attempts: int = Field(3, ge=1, description="deliveries of one job before it fails")
    lease: float = Field(60.0, gt=0, description="a running job silent this long is requeued")
    sweep_interval: float = Field(
        15.0, gt=0, description="seconds between the API's reconciliations (reconcile.py)"
    )
    resend_after: float = Field(
        30.0, gt=0, description="a queued job whose message was never sent is sent after this"
    )

    webhook_attempts: int = Field(5, ge=1)
    webhook_backoff: float = Field(1.0, ge=0, description="first retry delay; doubles")
    webhook_timeout: float = Field(10.0, gt=0)
    callback_hosts: str = Field(
        "public",
        description="comma list of hosts a callback_url may reach: names (n8n, "
        "*.example.com), IP addresses, CIDR networks, and `public` for every public address",
    )

    # What a request may ask for (see service/limits.py and service/references.py).
    local_files: bool = Field(
        False, description="let requests name files on the workers' disks (paths, file://)"
    )
    output_url_prefixes: str = Field(
        "", description="comma list of URL prefixes (s3://bucket/renders/) outputs may name"
    )
    max_body_bytes: int = Field(4_000_000, ge=1, description="largest request body (413)")
    max_parameters_bytes: int = Field(
        64_000, ge=1, description="largest parameters of one job, as JSON (413)"
    )
    max_script_chars: int = Field(5_000, ge=1, description="longest `script` (422)")
    max_duration: float = Field(
        180.0, gt=0, description="longest video in seconds, estimated from the script (422)"
    )
    words_per_second: float = Field(
        3.5, gt=0, description="the fastest usual narration rate the estimate assumes"
    )
    max_batch_rows: int = Field(1000, ge=1, description="most rows in one batch (422)")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            key: value
            for key, value in data.items()
            if key in ALLOW_LISTS or not (isinstance(value, str) and not value.strip())
        }

    @model_validator(mode="before")
    @classmethod
    def _bucket_output(cls, data: Any) -> Any:
        """`NEUROSHORTS_OUTPUT_DIR=s3://bucket/renders/` means the bucket, not a folder `s3:`."""
        if not isinstance(data, dict):
            return data
        if "://" in str(data.get("output_dir") or ""):
            url = str(data["output_dir"])
        elif data.get("output_url"):
            url = str(data["output_url"])
        else:
            return data
        parts = urlsplit(url)
        if parts.scheme.lower() not in BUCKET_SCHEMES or not parts.netloc:
            raise ValueError(
                f"NEUROSHORTS_OUTPUT_DIR: {url!r} is not an output location; expected a "
                "local folder or a bucket URL such as s3://bucket/renders/ or gs://bucket/renders/"
            )
        return {**data, "output_dir": None, "output_url": url.rstrip("/") + "/"}

    @field_validator("broker_options", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if self.home is not None:
            self._use_old_data_dir()
        self.data_dir = Path(self.data_dir).expanduser()
        if self.output_dir is None:
            self.output_dir = self.data_dir / "renders"
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'neuroshorts.sqlite'}"
        if not self.broker_url:
            self.broker_url = "filesystem://"
        if not self.visibility_timeout:
            self.visibility_timeout = self.time_limit + 300
        # Imported here: the media modules read their settings from this module.
        from neuroshorts.media.policy import parse_hosts

        parse_hosts(self.callback_hosts, "NEUROSHORTS_CALLBACK_HOSTS")  # a typo fails here
        if self.soft_time_limit >= self.time_limit:
            raise ValueError(
                f"soft_time_limit ({self.soft_time_limit} s) must be below "
                f"time_limit ({self.time_limit} s): the soft one stops a render cleanly"
            )
        return self

    def _use_old_data_dir(self) -> None:
        new = f"{PREFIX}DATA_DIR"
        if "data_dir" in self.model_fields_set:
            message = f"{OLD_DATA_DIR} is deprecated and ignored: {new} is set"
        else:
            self.data_dir = self.home
            message = f"{OLD_DATA_DIR} is deprecated; name the data directory {new}"
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        log.warning("%s", message)

    @property
    def embedded(self) -> bool:
        """True when the broker is the file system: one host, no servers."""
        return self.broker_url.startswith("filesystem://")

    @property
    def output_root(self) -> Path | str:
        """Where a job's files go by default: the bucket prefix, else the local folder."""
        assert self.output_dir is not None
        return self.output_url or self.output_dir.resolve()

    @property
    def output_prefixes(self) -> list[str]:
        """The URL prefixes outputs may name, each ending in `/` (the output bucket's too)."""
        listed = [p.strip() for p in self.output_url_prefixes.split(",") if p.strip()]
        return [p.rstrip("/") + "/" for p in [self.output_url, *listed] if p]

    @property
    def broker_folder(self) -> Path:
        return self.data_dir / "broker"

    def transport_options(self) -> dict[str, Any]:
        """kombu options: the broker's folders, and a redelivery delay above the hard limit."""
        options: dict[str, Any] = {"visibility_timeout": self.visibility_timeout}
        if self.embedded:
            messages = self.broker_folder / "messages"
            options |= {
                "data_folder_in": str(messages),
                "data_folder_out": str(messages),
                "control_folder": str(self.broker_folder / "control"),
                # kombu's default of 1 s between polls of the folder idles a worker
                # for up to a second per job; a directory listing costs microseconds.
                "polling_interval": 0.2,
            }
        return options | self.broker_options

    def prepare(self) -> None:
        """Create the directories the defaults point at."""
        assert self.output_dir is not None
        if not self.output_url:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.embedded:
            (self.broker_folder / "messages").mkdir(parents=True, exist_ok=True)
            (self.broker_folder / "control").mkdir(parents=True, exist_ok=True)


def settings() -> Settings:
    """This process's settings, as its environment holds them now."""
    return _settings_of(tuple(os.environ.items()))


@functools.lru_cache(maxsize=1)
def _settings_of(environment: tuple[tuple[str, str], ...]) -> Settings:
    """Settings for one state of the environment (the key); read from os.environ itself."""
    return Settings()


def data_dir() -> Path:
    """Where NeuroShorts keeps its own files: logs, caches, extra voices, the job store."""
    return settings().data_dir
