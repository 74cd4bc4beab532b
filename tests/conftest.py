"""Test-wide setup: logs and caches of every test run go to a temporary data dir; marks by
fixture and the order modules run in."""

import json
import os

import fsspec
import nbval.kernel
import pytest
from jupyter_client.kernelspec import get_kernel_spec
from jupyter_client.manager import KernelManager

from neuroshorts.kernels import prestart
from support.loopback import LoopbackServer, Reply, gcs_emulator, moto_s3, service_account, use_gcs

#: Fixtures that mark every test using them: live services, and module-wide renders.
SERVICE_FIXTURES = {"stack", "s3_endpoint", "gcs_endpoint"}
RENDER_FIXTURES = {"rendered", "in_terminal"}
#: Run order by a module's heaviest mark: with `--dist loadfile --no-loadscope-reorder`,
#: xdist hands out modules in this order, so the long drills start first and the two
#: workers finish together instead of one drill running alone at the end.
FIRST = ("slow", "render", "services")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by fixture (and notebooks as renders), then order modules heaviest first."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if item.path.suffix == ".ipynb" or used & RENDER_FIXTURES:
            item.add_marker(pytest.mark.render)
        if used & SERVICE_FIXTURES:
            item.add_marker(pytest.mark.services)
    rank: dict[object, int] = {}
    for item in items:
        marks = [i for i, name in enumerate(FIRST) if item.get_closest_marker(name)]
        rank[item.path] = min(rank.get(item.path, len(FIRST)), *marks, len(FIRST))
    items.sort(key=lambda item: rank[item.path])


# gcsfs (since 2026.x) asks Google's gRPC Storage Control API for every bucket's layout,
# which no emulator serves, retrying each call for a minute; this switch, read once when
# gcsfs is imported, turns that off (README: GCS emulators). Set before any test imports
# gcsfs, and inherited by the kernels and commands the tests start.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"


class SocketKernelManager(KernelManager):
    """nbval's kernels over unix sockets, as the engine's own (`prestart.channels` says
    why: a TCP port taken by another test's connection killed a notebook's kernel)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**prestart.channels(), **kwargs)


nbval.kernel.KernelManager = SocketKernelManager


@pytest.fixture(autouse=True, scope="session")
def neuroshorts_data_dir(tmp_path_factory):
    """Keep the CLI's rotating log and the caches out of the user's home directory."""
    folder = tmp_path_factory.mktemp("neuroshorts-data")
    previous = os.environ.get("NEUROSHORTS_DATA_DIR")
    os.environ["NEUROSHORTS_DATA_DIR"] = str(folder)
    yield folder
    if previous is None:
        del os.environ["NEUROSHORTS_DATA_DIR"]
    else:
        os.environ["NEUROSHORTS_DATA_DIR"] = previous


@pytest.fixture(autouse=True, scope="session")
def unmeasured_kernels(tmp_path_factory):
    """Every Jupyter kernel of the suite runs without coverage's tracer.

    A traced kernel renders at a fraction of its speed: tracing the suite's ~160 template
    kernels took half its CPU (docs/decisions/coverage-in-kernels.md). What a kernel runs
    is the package's code, which the tests measure in their own processes. The kernel spec
    `python3` is put first on JUPYTER_PATH, inherited by every command the tests start; an
    empty COVERAGE_PROCESS_CONFIG keeps coverage from starting in the kernel.
    """
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True)
    installed = get_kernel_spec("python3").to_dict()
    installed["env"] = {**installed.get("env", {}), "COVERAGE_PROCESS_CONFIG": ""}
    (spec / "kernel.json").write_text(json.dumps(installed))
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, (str(folder), previous)))
    yield
    if previous is None:
        del os.environ["JUPYTER_PATH"]
    else:
        os.environ["JUPYTER_PATH"] = previous


@pytest.fixture(scope="session")
def s3_endpoint():
    """One moto S3 server on loopback for every test that needs S3 (tests make own buckets)."""
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def gcs_endpoint():
    """One GCS emulator on loopback for every test that needs GCS (tests make own buckets)."""
    with gcs_emulator() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def google_token_server():
    """Google's OAuth token endpoint, which no emulator has: hands out one access token."""
    token = {"access_token": "emulator-token", "expires_in": 3600, "token_type": "Bearer"}
    with LoopbackServer() as server:
        server.routes["/token"] = Reply(json.dumps(token).encode())
        yield server


@pytest.fixture
def gs(gcs_endpoint, google_token_server, tmp_path, monkeypatch):
    """A gcsfs filesystem on the emulator, Google's variables pointing every client at it."""
    key = service_account(tmp_path, google_token_server.url("/token"))
    use_gcs(monkeypatch, gcs_endpoint, key)
    monkeypatch.delenv("NEUROSHORTS_SHARE_EXPIRY", raising=False)
    return fsspec.filesystem("gs", skip_instance_cache=True)


@pytest.fixture
def no_players_left():
    """Close the studio players a test made (they hold a frame feed thread each)."""
    from neuroshorts import studio

    yield
    for player in list(studio._players.values()):
        player.close()
    studio._players.clear()
