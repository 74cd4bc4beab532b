"""Test-wide setup: logs and caches of every test run go to a temporary data dir."""

import json
import os

import fsspec
import pytest
from loopback import LoopbackServer, Reply, gcs_emulator, moto_s3, service_account, use_gcs

# gcsfs (since 2026.x) asks Google's gRPC Storage Control API for every bucket's layout,
# which no emulator serves, retrying each call for a minute; this switch, read once when
# gcsfs is imported, turns that off (README: GCS emulators). Set before any test imports
# gcsfs, and inherited by the kernels and commands the tests start.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"


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
