"""--strategy: MirroredStrategy on two logical CPU devices and MultiWorkerMirroredStrategy with two local workers.

Both must give the same model as one device: the batch size is the global batch, split over the replicas.
Each runs in fresh processes (logical devices and collectives are set up before TensorFlow starts).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import weights_of

from zoo.training import train

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "distributed_run.py"
ENV = {**os.environ, "PYTHONPATH": str(HERE.parent), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}


def reference(out, **kwargs):
    """The same run as distributed_run.py's, on one device in this process: its weights."""
    from conftest import tiny_tfds

    with tiny_tfds():
        train(
            "lenet5",
            "mnist",
            epochs=2,
            batch_size=32,
            seed=5,
            output=out,
            device="cpu",
            strategy="one",
            verbose=0,
            log=lambda *a: None,
            **kwargs,
        )
    return weights_of(out)


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    return reference(tmp_path_factory.mktemp("one") / "model")


def assert_same_model(a, b):
    assert all(np.allclose(x, y, rtol=0, atol=1e-6) for x, y in zip(a, b, strict=True))


def result_line(stdout: str) -> dict:
    [line] = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


def test_mirrored_on_two_cpu_devices_matches_one_device(one_device, tmp_path):
    out = tmp_path / "model"
    run = subprocess.run(
        [sys.executable, str(RUNNER), "mirrored", str(out), "--cpus", "2"],
        env=ENV,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "global batch 32 = 2 x 16" in run.stdout
    assert result_line(run.stdout)["replicas"] == 2
    assert json.loads((out / "card.json").read_text())["runtime"]["strategy"] == "mirrored"
    assert_same_model(weights_of(out), one_device)


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.parametrize("stream", [False, True], ids=["in memory", "streamed"])
def test_multiworker_with_two_local_workers_matches_one_device(stream, one_device, tmp_path):
    """Each worker takes its part of every global batch (of the in-memory arrays, or of the stream from tfds)."""
    out = tmp_path / "model"
    expected = reference(tmp_path / "ref" / "model", stream_above=0) if stream else one_device
    shutil.rmtree(tmp_path / "ref", ignore_errors=True)
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        procs.append(
            subprocess.Popen(
                [sys.executable, str(RUNNER), "multiworker", str(out), *(["--stream"] if stream else [])],
                env={**ENV, "TF_CONFIG": json.dumps(tf_config)},
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        outputs = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (stdout, stderr) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, stderr[-3000:]
        assert "Strategy: multiworker, 2 replica(s) on 2 workers" in stdout
    assert "saved to" in outputs[0][0] and "worker 1 done (the chief saves)" in outputs[1][0]
    assert result_line(outputs[0][0])["workers"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"], "no run state left behind by either worker"
    assert_same_model(weights_of(out), expected)


@pytest.mark.parametrize(
    ("tf_config", "message"),
    [
        (None, "--strategy multiworker needs the TF_CONFIG environment variable"),
        ("not json", "TF_CONFIG is not valid"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}', "TF_CONFIG is not valid"),
    ],
)
def test_multiworker_without_a_valid_tf_config_fails_in_one_line(
    tf_config, message, cli_runner, zoo_cli, tmp_path, monkeypatch
):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    result = cli_runner.invoke(zoo_cli, ["train", "lenet5", "--strategy", "multiworker", "-o", str(tmp_path / "m")])
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert message in line
    assert list(tmp_path.iterdir()) == []
