"""Test-wide setup: logs and caches of every test run go to a temporary data dir."""

import os

import pytest
from loopback import moto_s3


@pytest.fixture(autouse=True, scope="session")
def neuroshorts_home(tmp_path_factory):
    """Keep the CLI's rotating log (and later caches) out of the user's home directory."""
    home = tmp_path_factory.mktemp("neuroshorts-home")
    previous = os.environ.get("NEUROSHORTS_HOME")
    os.environ["NEUROSHORTS_HOME"] = str(home)
    yield home
    if previous is None:
        del os.environ["NEUROSHORTS_HOME"]
    else:
        os.environ["NEUROSHORTS_HOME"] = previous


@pytest.fixture(scope="session")
def s3_endpoint():
    """One moto S3 server on loopback for every test that needs S3 (tests make own buckets)."""
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def no_players_left():
    """Close the studio players a test made (they hold a frame feed thread each)."""
    from neuroshorts import studio

    yield
    for player in list(studio._players.values()):
        player.close()
    studio._players.clear()
