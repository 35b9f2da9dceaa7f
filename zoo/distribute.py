"""tf.distribute strategies for training: one device, all local devices, or several machines.

The batch size is always the **global** batch: each step takes ``batch_size`` images in all, split evenly over
the replicas (``batch_size / replicas`` each), and the gradients are averaged over the whole global batch. So
the same recipe gives the same mathematics on one device, on eight GPUs or on four machines, and its learning
rate needs no change. If you raise ``--batch-size`` to keep more devices busy, scale ``--learning-rate``
linearly with it (Goyal et al. 2017: k times the batch, k times the learning rate, with the recipe's warm-up).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from zoo.errors import UsageError

STRATEGIES = ("auto", "one", "mirrored", "multiworker")


@dataclass
class Placement:
    """The strategy to build and train under, and this process's part in it."""

    strategy: Any  # tf.distribute.Strategy
    name: str
    replicas: int
    worker: int = 0  # this worker's index in a multi-worker cluster
    workers: int = 1
    is_chief: bool = True  # the one process that writes the model folder

    def describe(self, global_batch: int) -> str:
        where = f"{self.replicas} replica(s)" + (f" on {self.workers} workers" if self.workers > 1 else "")
        per_replica = global_batch / self.replicas
        return f"Strategy: {self.name}, {where}; global batch {global_batch} = {self.replicas} x {per_replica:g}"


def _cluster() -> tuple[dict[str, Any], str, int]:
    """The cluster, task type and index from ``TF_CONFIG``, with a clear error where it is missing or wrong."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UsageError(
            "--strategy multiworker needs the TF_CONFIG environment variable, e.g. "
            '\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
            '"index": 0}}\''
        )
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        task_type, index = task["type"], int(task["index"])
        if not cluster.get(task_type) or index >= len(cluster[task_type]):
            raise ValueError(f"task {task_type}:{index} is not in the cluster")
    except (ValueError, KeyError, TypeError) as err:
        raise UsageError(f"TF_CONFIG is not valid ({err}); it needs 'cluster' and 'task' (type, index)") from None
    return cluster, task_type, index


def check(name: str) -> None:
    """``name`` is a known strategy, and ``multiworker`` has a valid ``TF_CONFIG``: checked before any work."""
    if name not in STRATEGIES:
        raise UsageError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")
    if name == "multiworker":
        _cluster()


def place(name: str = "auto") -> Placement:
    """Build the strategy ``name`` (auto | one | mirrored | multiworker).

    - ``one``: the default strategy, one device (the first GPU where there is one, else the CPU).
    - ``mirrored``: ``MirroredStrategy`` over all local GPUs, or over all logical CPU devices where there is no GPU.
    - ``multiworker``: ``MultiWorkerMirroredStrategy`` over the cluster in ``TF_CONFIG``; every worker runs the
      same command, and the chief (task ``chief``, or worker 0 where there is none) writes the model folder.
    - ``auto``: ``mirrored`` where there are several GPUs, else ``one``.

    Call it before TensorFlow runs any operation: multi-worker collectives must be set up first.
    """
    import tensorflow as tf

    check(name)
    if name == "multiworker":
        cluster, task_type, index = _cluster()
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        chief = task_type == "chief" or (task_type == "worker" and index == 0 and "chief" not in cluster)
        workers = sum(len(cluster.get(t, [])) for t in ("chief", "worker"))
        return Placement(strategy, name, strategy.num_replicas_in_sync, index, workers, chief)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one"
    if name == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices)
        return Placement(strategy, name, strategy.num_replicas_in_sync)
    return Placement(tf.distribute.get_strategy(), name, 1)


def prepare_multiworker(model, images, labels) -> None:
    """Work around Keras 3's multi-worker bugs (keras-team/keras#20585) for ``model``, built from a local batch.

    Keras 3.15's TensorFlow trainer fails under ``MultiWorkerMirroredStrategy`` in two places:
    - ``fit``/``evaluate`` build the model by reducing a distributed input batch with ``strategy.reduce``, which
      cannot take per-replica images; the build needs only shapes and dtypes, so build from a local batch first.
    - each step's scalar metrics are reduced with ``strategy.reduce("MEAN", v, axis=0)``, which has no axis 0;
      reduce scalars over replicas only (``axis=None``), as the single-worker path does.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=(images, labels))
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

    original = trainer.reduce_per_replica
    if getattr(original, "zoo_patched", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):

            def mean(v):
                scalar = strategy.experimental_local_results(v)[0].shape.rank == 0
                return strategy.reduce("MEAN", v, axis=None if scalar else 0)

            return tf.nest.map_structure(mean, values)
        return original(values, strategy, reduction)

    reduce_per_replica.zoo_patched = True
    trainer.reduce_per_replica = reduce_per_replica


def shard_by_data(dataset):
    """``dataset`` with multi-worker auto-sharding by data (each worker takes its part of every global batch)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def split_cpu(devices: int) -> None:
    """Split the CPU into ``devices`` logical devices (to try ``mirrored`` without GPUs); call before TF starts."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
