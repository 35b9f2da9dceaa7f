"""Dynamic batching, as TensorFlow Serving's: concurrent requests to one model wait up to ``batch_wait_ms`` to be
gathered into one call of at most ``max_batch`` images; one thread runs the model, so calls never compete for the
cores; the batch sizes are few (powers of two) and warmed up before the first request."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import numpy as np

from zoo.serve.protocol import Served

MAX_BATCH = 64  # images in one model call, at most (a request with more runs as its own call)
BATCH_WAIT_MS = 0.0  # how long a batch that is not full waits for more (0: what queued while the model ran)


class Batcher:
    """Gathers concurrent requests to one model into batches: the first waits up to ``wait_s`` for others, up to
    ``max_batch`` images in all; the model runs on ``executor`` (one thread)."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], max_batch: int, wait_s: float, executor):
        self.run, self.max_batch, self.wait_s, self.executor = run, max_batch, wait_s, executor
        self.queue: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None
        self.batches = 0  # calls made, for tests and the load benchmark

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()

    async def predict(self, images: np.ndarray) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((images, future))
        return await future

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # What queued while the model ran is the next batch: alone at low load (no wait), up to max_batch
            # under load. batch_wait_ms > 0 also holds a batch that is not full for that long, for company.
            items = [await self.queue.get()]
            count, deadline = len(items[0][0]), loop.time() + self.wait_s
            while count < self.max_batch:
                if self.queue.qsize():
                    item = self.queue.get_nowait()
                elif self.wait_s > 0 and loop.time() < deadline:
                    try:
                        item = await asyncio.wait_for(self.queue.get(), deadline - loop.time())
                    except TimeoutError:
                        break
                else:
                    break
                items.append(item)
                count += len(item[0])
            batch = np.concatenate([images for images, _ in items])
            try:
                out = await loop.run_in_executor(self.executor, run_padded, self.run, batch, self.max_batch)
            except Exception as err:  # noqa: BLE001  (every waiting request gets the model's error)
                for _, future in items:
                    if not future.done():
                        future.set_exception(err)
                continue
            self.batches += 1
            start = 0
            for images, future in items:
                if not future.done():
                    future.set_result(out[start : start + len(images)])
                start += len(images)


def batch_sizes(max_batch: int) -> list[int]:
    """The batch sizes a model is called with: powers of two up to ``max_batch``, and ``max_batch`` itself. Each
    size is a new shape to the kernels (oneDNN builds its primitives per shape), so they are few, and warmed up."""
    sizes = [1 << i for i in range(max_batch.bit_length()) if 1 << i < max_batch]
    return [*sizes, max_batch]


def run_padded(run: Callable[[np.ndarray], np.ndarray], images: np.ndarray, max_batch: int) -> np.ndarray:
    """``run`` on ``images`` padded with zero images to the next allowed batch size (as TensorFlow Serving's
    ``allowed_batch_sizes``); a request larger than ``max_batch`` runs as it is."""
    size = next((s for s in batch_sizes(max_batch) if s >= len(images)), len(images))
    if size == len(images):
        return run(images)
    padding = np.zeros((size - len(images), *images.shape[1:]), images.dtype)
    return run(np.concatenate([images, padding]))[: len(images)]


def warm_up(served: list[Served], max_batch: int) -> None:
    """Call every model at every batch size it will see, so no request pays for building kernels; then move
    everything loaded so far out of the garbage collector's way (a full collection over TensorFlow's objects
    would pause a request for a tenth of a second)."""
    for model in served:
        for size in batch_sizes(max_batch):
            model.run(np.zeros((size, *model.shape), np.uint8))
        if model.features is not None:
            model.features(np.zeros((1, *model.shape), np.uint8))
    gc.collect()
    gc.freeze()
