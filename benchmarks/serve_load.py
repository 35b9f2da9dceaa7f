"""`zoo serve` under load: requests/s and latency at 1, 8 and 64 concurrent clients, with dynamic batching, without
it, and the model called in-process (the ceiling), for LeNet-5 and the CIFAR-10 CNN.

    python benchmarks/serve_load.py --save benchmarks/results/serve_load.json

Each client is a thread with one keep-alive connection that posts one image per request (TensorFlow Serving's
`{"instances": [image]}`), bodies encoded beforehand; each cell runs a fixed number of requests or stops at its time
cap. Client and server share the machine, as they would on a laptop. Run it alone on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

CLIENTS = (1, 8, 64)
REQUESTS = {"lenet5.mnist": 1500, "cifar_cnn.cifar10": 600}  # per cell, at most
CELL_SECONDS = 30.0


def start(model: str, batching: bool) -> tuple[subprocess.Popen, int]:
    args = [sys.executable, "-m", "zoo", "serve", model, "--port", "0", "--device", "cpu"]
    proc = subprocess.Popen(
        args + ([] if batching else ["--no-batching"]), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    for line in iter(proc.stdout.readline, ""):
        match = re.search(r"Serving at http://127\.0\.0\.1:(\d+)/", line)
        if match:
            return proc, int(match.group(1))
    raise SystemExit(f"the server did not start: {proc.stderr.read()[-2000:]}")


def load(port: int, model: str, bodies: list[bytes], clients: int, total: int) -> dict:
    """``total`` requests from ``clients`` threads (or as many as fit in CELL_SECONDS): requests/s, p50, p99."""
    latencies: list[float] = []
    errors = [0]
    lock, counter = threading.Lock(), [0]
    deadline = time.monotonic() + CELL_SECONDS

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        # As curl, requests and browsers do: without it, a body sent after its headers waits for the server's
        # delayed ACK (40 ms on Linux), which would be measured as the server's latency.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mine = []
        while True:
            with lock:
                if counter[0] >= total or time.monotonic() > deadline:
                    break
                counter[0] += 1
                n = counter[0]
            started = time.perf_counter()
            conn.request(
                "POST", f"/v1/models/{model}:predict", bodies[n % len(bodies)], {"Content-Type": "application/json"}
            )
            answer = conn.getresponse()
            answer.read()
            mine.append(time.perf_counter() - started)
            if answer.status != 200:
                errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors[0],
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def in_process(model: str, images: np.ndarray, max_batch: int = 64) -> dict:
    """The ceiling: the served function called directly on batches of ``max_batch``, and on single images."""
    from zoo.serve.protocol import load_served

    served = load_served(model)
    batch = np.concatenate([images] * (max_batch // len(images) + 1))[:max_batch]
    for _ in range(3):
        served.run(batch), served.run(batch[:1])
    rounds, started = 0, time.perf_counter()
    while time.perf_counter() - started < 5:
        served.run(batch)
        rounds += 1
    batched = rounds * max_batch / (time.perf_counter() - started)
    singles = []
    for image in np.concatenate([images] * 5)[:200]:
        t = time.perf_counter()
        served.run(image[None])
        singles.append(time.perf_counter() - t)
    return {"images_per_s_batch": batched, "max_batch": max_batch, "images_per_s_single": 1 / float(np.mean(singles))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", default=None, help="write the record to this JSON file")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from zoo.data import get_info
    from zoo.device import cpu_name, vector_isa

    rng = np.random.default_rng(0)
    record = {
        "serving": True,
        "title": "zoo serve under load",
        "date": dt.date.today().isoformat(),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "isa": vector_isa()},
        "command": "python benchmarks/serve_load.py --save benchmarks/results/serve_load.json",
        "models": [],
    }
    for model in REQUESTS:
        shape = get_info(model.split(".")[1]).input_shape
        images = rng.integers(0, 256, (32, *shape), dtype=np.uint8)
        bodies = [json.dumps({"instances": [image.tolist()]}).encode() for image in images]
        entry = {"model": model, "in_process": in_process(model, images), "cells": []}
        for batching in (True, False):
            proc, port = start(model, batching)
            try:
                load(port, model, bodies, 4, 40)  # warm-up: compile, connect
                for clients in CLIENTS:
                    cell = {"batching": batching, **load(port, model, bodies, clients, REQUESTS[model])}
                    entry["cells"].append(cell)
                    print(json.dumps({"model": model, **cell}), flush=True)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=60)
        record["models"].append(entry)
        print(json.dumps({"model": model, "in_process": entry["in_process"]}), flush=True)
    if args.save:
        Path(args.save).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
