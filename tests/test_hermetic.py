"""The suite runs as on a bare machine: empty HOME, no tfds data folder, no zoo cache, no network."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HERMETIC_HOME


def test_home_is_an_empty_folder_and_no_data_folder_is_set():
    assert Path.home() == Path(HERMETIC_HOME)
    assert not (Path.home() / "tensorflow_datasets").exists() and not (Path.home() / ".cache" / "zoo").exists()
    assert "TFDS_DATA_DIR" not in os.environ and "ZOO_CACHE" not in os.environ


def test_the_network_is_out_of_reach_but_loopback_is_not():
    with pytest.raises(OSError):
        socket.create_connection(("storage.googleapis.com", 443), timeout=2)
    with pytest.raises(OSError):
        socket.create_connection(("8.8.8.8", 53), timeout=2)
    server = socket.create_server(("127.0.0.1", 0))
    socket.create_connection(server.getsockname(), timeout=2).close()
    server.close()


@pytest.mark.slow
def test_a_subprocess_sees_no_prepared_dataset():
    """What `zoo data list` sees from a test's subprocess: the same empty HOME, nothing prepared."""
    out = subprocess.run(
        [sys.executable, "-m", "zoo", "data", "list"], capture_output=True, text=True, timeout=300, check=True
    )
    rows = [line for line in out.stdout.splitlines() if line.strip()]
    assert len(rows) == 3 and all(" not prepared " in row for row in rows), out.stdout
    assert all(HERMETIC_HOME in row for row in rows), out.stdout
