"""``zoo serve``: saved models behind TensorFlow Serving's REST API, batched under load, with a page for people.

The parts of TensorFlow Serving's REST API that apply, with its JSON shapes, so that a client written for one
works with the other:

    GET  /v1/models/NAME              the model's status
    GET  /v1/models/NAME/metadata     its serving signature: input ``images`` uint8 [-1, H, W, C]; outputs
    POST /v1/models/NAME:predict      {"instances": [...]} → {"predictions": [...]}; {"inputs": ...} → {"outputs": ...}

and zoo's own: ``POST /v1/models/NAME:classify_image`` (a multipart image upload → top-k, resized, converted and
inverted as ``zoo predict`` does), ``GET /v1/models`` (what is served), ``GET /healthz`` and ``GET /`` (a page to
draw on). Errors are ``{"error": "one line"}`` with a 4xx or 5xx status; sizes are checked before anything is
decoded.

Dynamic batching, as TensorFlow Serving's: concurrent requests to one model wait up to ``batch_wait_ms`` to be
gathered into one call of at most ``max_batch`` images; one thread runs the model, so calls never compete for the
cores.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import io
import json
import logging
import math
import socket
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from zoo import extras, pretrained, tags
from zoo.card import ModelCard
from zoo.data import normalize
from zoo.errors import UsageError, ZooError, first_line
from zoo.prediction import DARK_BACKGROUND_DATASETS, prepare_image

log = logging.getLogger("zoo.serve")
DEFAULT_PORT = 8501  # TensorFlow Serving's REST port
MAX_BATCH = 64  # images in one model call, at most (a request with more runs as its own call)
BATCH_WAIT_MS = 0.0  # how long a batch that is not full waits for more (0: what queued while the model ran)
MAX_BODY_BYTES = 8 << 20  # a request body over this is refused (413) before it is read further
MAX_INSTANCES = 1024  # images in one request
MAX_HEAD_BYTES = 64 << 10  # request line and headers together: over this is 431 (a long URL alone: 414)
MAX_URL_BYTES = 8 << 10
GRACEFUL_SHUTDOWN_S = 5  # on Ctrl-C or SIGTERM, requests in flight get this long to finish, then are cancelled
DECODE_THREADS = 2  # uploads are decoded on these, off the event loop and off the model's thread
TOP_K = 3


class RequestError(Exception):
    """A request the server refuses: its status and one line for ``{"error": ...}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Served:
    """One served model: its name, Keras model, card, and the compiled functions the server calls."""

    name: str
    model: Any
    card: ModelCard
    run: Callable[[np.ndarray], np.ndarray]  # uint8 [N, H, W, C] → probabilities [N, classes]
    features: Callable[[np.ndarray], np.ndarray] | None  # the first conv layer's maps, where there is one
    batcher: Batcher | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.card.input_shape)

    @property
    def class_names(self) -> list[str]:
        return self.card.labels


def load_served(model: str) -> Served:
    """Load a model folder or tag for serving: named by its tag, or by its folder's name."""
    import keras
    import tensorflow as tf

    keras_model, card = pretrained.load(model)
    name = model if model in tags.list_tags() else Path(model).resolve().name
    spec = tf.TensorSpec([None, *card.input_shape], tf.uint8)

    def compiled(net) -> Callable[[np.ndarray], np.ndarray]:  # one graph for every batch size: no retracing
        graph = tf.function(lambda x: net(normalize(x), training=False), input_signature=[spec])
        return lambda images: graph(images).numpy()

    convs = [layer for layer in keras_model.layers if isinstance(layer, keras.layers.Conv2D)]
    probe = keras.Model(keras_model.inputs, convs[0].output) if convs else None
    return Served(name, keras_model, card, compiled(keras_model), compiled(probe) if probe else None)


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


# --- requests ---------------------------------------------------------------------------------------------------


def _no_constants(name: str):
    raise RequestError(400, f"the body is not valid JSON: {name} is not a number JSON allows")


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_no_constants)
    except (ValueError, RecursionError) as err:
        raise RequestError(400, f"the body is not valid JSON ({first_line(err, 120)})") from None


def _holds_bool(value: Any) -> bool:
    """Whether a parsed JSON value holds ``true`` or ``false`` anywhere (NumPy would take them as 1 and 0)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            return True
        if isinstance(item, list):
            stack.extend(item)
    return False


def images_of(request: Any, served: Served, has_booleans: bool = True) -> tuple[np.ndarray, bool]:
    """The uint8 images [N, H, W, C] of a TensorFlow Serving predict request, and whether it was columnar
    (``has_booleans``: whether the body may hold a JSON boolean; the scan for one is skipped where it cannot)."""
    if not isinstance(request, dict):
        raise RequestError(400, 'the body must be a JSON object with "instances" (rows) or "inputs" (columns)')
    signature = request.get("signature_name", "serving_default")
    if signature != "serving_default":
        raise RequestError(400, f"unknown signature_name {str(signature)[:40]!r}; this model has serving_default")
    if ("instances" in request) == ("inputs" in request):
        raise RequestError(400, 'give exactly one of "instances" (rows) or "inputs" (columns)')
    columnar = "inputs" in request
    data = request["inputs"] if columnar else request["instances"]
    if columnar and isinstance(data, dict):
        data = _named(data)
    elif not columnar and isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        data = [_named(row) for row in data]
    if not isinstance(data, list) or not data:
        raise RequestError(400, "no images: give a non-empty list of images [H][W][C] of raw pixels 0-255")
    if len(data) > MAX_INSTANCES:
        raise RequestError(400, f"{len(data):,} images in one request; at most {MAX_INSTANCES:,}")
    try:
        array = np.array(data)
    except (ValueError, TypeError):
        raise RequestError(400, "images of different shapes or wrong nesting: each must be [H][W][C]") from None
    if array.dtype.kind not in "iuf" or (has_booleans and _holds_bool(data)):
        raise RequestError(400, "pixels must be numbers 0-255 (uint8), not strings, booleans or null")
    wanted = (len(data), *served.shape)
    if array.shape != wanted:
        shape = "[N, " + ", ".join(map(str, served.shape)) + "]"
        raise RequestError(400, f"images of shape {list(array.shape)}; {served.name} takes {shape} (uint8)")
    if array.dtype.kind == "f" and not (np.isfinite(array).all() and (array == np.round(array)).all()):
        raise RequestError(400, "pixels must be whole numbers 0-255 (uint8), not fractions, NaN or infinity")
    if array.min() < 0 or array.max() > 255:
        raise RequestError(400, f"pixels must be 0-255 (uint8); got {array.min():g} to {array.max():g}")
    return array.astype(np.uint8), columnar


def _named(value: dict) -> Any:
    if set(value) != {"images"}:
        raise RequestError(400, f'the input is named "images"; got {", ".join(map(str, value))[:60]}')
    return value["images"]


def predictions(served: Served, probs: np.ndarray, columnar: bool) -> dict[str, Any]:
    """TensorFlow Serving's response for the serving signature's three outputs, rows or columns."""
    ids = probs.argmax(axis=1)
    names = [served.class_names[i] for i in ids]
    if columnar:
        return {"outputs": {"probabilities": probs.tolist(), "class_id": ids.tolist(), "class_name": names}}
    rows = zip(probs.tolist(), ids.tolist(), names, strict=True)
    return {"predictions": [{"probabilities": p, "class_id": i, "class_name": n} for p, i, n in rows]}


def status(served: Served) -> dict[str, Any]:
    return {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }


def metadata(served: Served) -> dict[str, Any]:
    """The serving signature as TensorFlow Serving's metadata endpoint shows it."""

    def tensor(dtype: str, dims: list[int], name: str) -> dict[str, Any]:
        shape = {"dim": [{"size": str(d), "name": ""} for d in dims], "unknown_rank": False}
        return {"dtype": dtype, "tensor_shape": shape, "name": name}

    classes = served.card.num_classes
    signature = {
        "inputs": {"images": tensor("DT_UINT8", [-1, *served.shape], "serving_default_images:0")},
        "outputs": {
            "probabilities": tensor("DT_FLOAT", [-1, classes], "StatefulPartitionedCall:0"),
            "class_id": tensor("DT_INT32", [-1], "StatefulPartitionedCall:1"),
            "class_name": tensor("DT_STRING", [-1], "StatefulPartitionedCall:2"),
        },
        "method_name": "tensorflow/serving/predict",
    }
    return {
        "model_spec": {"name": served.name, "signature_name": "", "version": "1"},
        "metadata": {"signature_def": {"signature_def": {"serving_default": signature}}},
    }


def feature_png(maps: np.ndarray) -> str:
    """The first conv layer's maps [H, W, K] as one grayscale PNG grid (each map scaled to its own range), as a
    data URL for the page."""
    from PIL import Image

    k = maps.shape[-1]
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    h, w = maps.shape[:2]
    grid = np.full((rows * (h + 2), cols * (w + 2)), 255, np.uint8)
    for i in range(k):
        m = maps[..., i]
        lo, hi = float(m.min()), float(m.max())
        cell = ((m - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(m)).astype(np.uint8)
        r, c = divmod(i, cols)
        grid[r * (h + 2) + 1 : r * (h + 2) + 1 + h, c * (w + 2) + 1 : c * (w + 2) + 1 + w] = cell
    buf = io.BytesIO()
    Image.fromarray(grid).resize((grid.shape[1] * 4, grid.shape[0] * 4), Image.Resampling.NEAREST).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


# --- the application ----------------------------------------------------------------------------------------


@dataclass
class ServerConfig:
    max_batch: int = MAX_BATCH
    batch_wait_ms: float = BATCH_WAIT_MS
    batching: bool = True
    max_body_bytes: int = MAX_BODY_BYTES
    cors: str | None = None
    host: str = "127.0.0.1"  # bound to loopback, only loopback host names are answered (DNS rebinding)
    stats: dict[str, int] = field(default_factory=lambda: {"requests": 0})


def create_app(served: list[Served], config: ServerConfig | None = None):
    """The Starlette application serving ``served`` (loaded already)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    config = config or ServerConfig()
    models = {s.name: s for s in served}
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoo-model")
    decoder = ThreadPoolExecutor(max_workers=DECODE_THREADS, thread_name_prefix="zoo-decode")
    page = resources.files("zoo").joinpath("web/index.html").read_text()

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    def served_model(name: str) -> Served:
        if name not in models:  # a name is only ever looked up here, never on the file system
            raise RequestError(404, f"no model named {name[:60]!r} is served; see GET /v1/models")
        return models[name]

    async def body_of(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > config.max_body_bytes):
            raise RequestError(413, f"the body is over {config.max_body_bytes:,} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > config.max_body_bytes:
                raise RequestError(413, f"the body is over {config.max_body_bytes:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def run_model(model: Served, images: np.ndarray) -> np.ndarray:
        if model.batcher is not None:
            return await model.batcher.predict(images)
        return await asyncio.get_running_loop().run_in_executor(executor, model.run, images)

    def endpoint(handler):
        """Every answer, an error too, comes from here: a refused request is its one line, a client gone mid-body
        or a request cancelled at shutdown one log line, anything else a 500 and one log line (Starlette's own
        handler for exceptions would re-raise them, and uvicorn would log a traceback)."""

        async def answer(request: Request):
            try:
                return await handler(request)
            except RequestError as err:
                return error(err.status, str(err))
            except ClientDisconnect:
                log.warning(
                    "zoo serve: %s %s: the client disconnected before its body arrived",
                    request.method,
                    request.url.path[:80],
                )
                return Response(status_code=400)
            except asyncio.CancelledError:
                log.warning("zoo serve: %s %s: cancelled at shutdown", request.method, request.url.path[:80])
                return error(503, "the server is shutting down")
            except Exception as err:  # noqa: BLE001  (the model's or a library's: one line, not a traceback)
                log.error(
                    "zoo serve: %s %s: %s: %s",
                    request.method,
                    request.url.path[:80],
                    type(err).__name__,
                    first_line(err, 160),
                )
                return error(500, f"the model could not answer ({type(err).__name__})")

        return answer

    async def index(request: Request):
        return HTMLResponse(page)

    async def favicon(request: Request):
        return Response(FAVICON, media_type="image/svg+xml")

    async def healthz(request: Request):
        calls = {s.name: s.batcher.batches for s in served if s.batcher is not None}
        return JSONResponse(
            {"status": "ok", "models": sorted(models), "requests": config.stats["requests"]}
            | ({"model_calls": calls} if calls else {})
        )

    async def list_models(request: Request):
        return JSONResponse(
            {
                "models": [
                    {
                        "name": s.name,
                        "model": s.card.model,
                        "dataset": s.card.dataset,
                        "input_shape": list(s.shape),
                        "class_names": s.class_names,
                        "draw": s.card.dataset in DARK_BACKGROUND_DATASETS,
                        "features": s.features is not None,
                    }
                    for s in served
                ]
            }
        )

    async def model_get(request: Request):
        target = request.path_params["target"]
        if target.rpartition(":")[2] in ("predict", "classify_image"):
            raise RequestError(405, f"{target.rpartition(':')[2]} takes POST, not GET")
        name, _, rest = target.partition("/")
        model = served_model(name)
        if rest in ("", "versions/1"):
            return JSONResponse(status(model))
        if rest in ("metadata", "versions/1/metadata"):
            return JSONResponse(metadata(model))
        raise RequestError(404, "unknown endpoint; see GET /v1/models/NAME, /metadata, POST :predict")

    async def model_post(request: Request):
        target = request.path_params["target"]
        name, _, verb = target.rpartition(":")
        name = name.removesuffix("/versions/1")
        if verb not in ("predict", "classify_image"):
            raise RequestError(404, "unknown method; POST /v1/models/NAME:predict or :classify_image")
        model = served_model(name)
        body = await body_of(request)
        config.stats["requests"] += 1
        if verb == "predict":
            images, columnar = images_of(parse_json(body), model, b"true" in body or b"false" in body)
            return JSONResponse(predictions(model, await run_model(model, images), columnar))
        return JSONResponse(await classify_upload(request, body, model))

    async def classify_upload(request: Request, body: bytes, model: Served) -> dict[str, Any]:
        from starlette.formparsers import MultiPartException, MultiPartParser

        async def stream() -> AsyncIterator[bytes]:
            yield body

        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise RequestError(415, "upload the image as multipart/form-data, in a field named image")
        try:
            form = await MultiPartParser(request.headers, stream(), max_files=1, max_fields=4).parse()
        except (MultiPartException, ValueError) as err:
            raise RequestError(400, f"not a readable multipart upload ({first_line(err, 120)})") from None
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            raise RequestError(400, "no file in the field named image")
        data = await upload.read()
        invert: bool | str = "auto" if model.card.dataset in DARK_BACKGROUND_DATASETS else False
        try:  # decoded off the event loop: a large image must not stall other requests (its size is checked first)
            pixels, inverted = await asyncio.get_running_loop().run_in_executor(
                decoder, prepare_image, data, model.shape, invert, model.card.dataset
            )
        except ZooError as err:
            raise RequestError(400, str(err)) from None
        probs = (await run_model(model, pixels[None]))[0]
        top = np.argsort(probs)[::-1][: min(TOP_K, len(probs))]
        result: dict[str, Any] = {
            "model": model.name,
            "inverted": inverted,
            "top_k": [{"class_name": model.class_names[i], "probability": float(probs[i])} for i in top],
        }
        if request.query_params.get("features") and model.features is not None:
            maps = await asyncio.get_running_loop().run_in_executor(executor, model.features, pixels[None])
            result["feature_maps"] = feature_png(maps[0])
        return result

    async def on_error(request: Request, exc: Exception):  # the router's own 404 and 405
        if getattr(exc, "status_code", 404) == 405:
            return error(405, f"{request.method} is not allowed here")
        return error(404, "no such endpoint; see GET /v1/models")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        for model in served:
            if config.batching:
                model.batcher = Batcher(model.run, config.max_batch, config.batch_wait_ms / 1000, executor)
                model.batcher.start()
        yield
        for model in served:  # uvicorn has let the requests in flight finish
            if model.batcher is not None:
                await model.batcher.stop()
                model.batcher = None
        executor.shutdown(wait=True)
        decoder.shutdown(wait=True)

    middleware = [Middleware(LoopbackHosts, bound=config.host)]
    if config.cors:
        middleware.append(
            Middleware(CORSMiddleware, allow_origins=[config.cors], allow_methods=["GET", "POST"], allow_headers=["*"])
        )
    routes = [
        Route("/", endpoint(index)),
        Route("/favicon.ico", endpoint(favicon)),
        Route("/healthz", endpoint(healthz)),
        Route("/v1/models", endpoint(list_models)),
        Route("/v1/models/{target:path}", endpoint(model_get), methods=["GET"]),
        Route("/v1/models/{target:path}", endpoint(model_post), methods=["POST"]),
    ]
    handlers = {404: on_error, 405: on_error}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan)
    app.state.config, app.state.served = config, served
    return app


def serve(
    models: list[str],
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    config: ServerConfig | None = None,
    log: Callable[[str], Any] = print,
) -> None:
    """Load ``models`` (folders or tags) and serve them until Ctrl-C or SIGTERM; in-flight requests finish."""
    extras.require("serve", "zoo serve")
    import uvicorn

    if not models:
        raise UsageError("name at least one model folder or pretrained tag to serve")
    sock = listening_socket(host, port)  # a port in use fails here, in one line, before any model loads
    started = time.perf_counter()
    served = [load_served(m) for m in models]
    names = [s.name for s in served]
    if len(set(names)) != len(names):
        raise UsageError(f"two models would be served under one name: {', '.join(names)}")
    config = config or ServerConfig(host=host)
    config.host = host
    warm_up(served, config.max_batch)
    app = create_app(served, config)
    shown, port = f"[{host}]" if ":" in host else host, sock.getsockname()[1]  # (port 0: the one the system chose)
    log(f"Loaded {', '.join(names)} in {time.perf_counter() - started:.1f} s")
    log(f"Serving at http://{shown}:{port}/  (REST: POST /v1/models/{names[0]}:predict); Ctrl-C stops")
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            http=http_protocol(),
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,  # (where the C parser is missing)
        )
    )
    server.run(sockets=[sock])


LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
FAVICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#3b7dd8"/>'
    b'<text x="8" y="12.5" font-size="11" text-anchor="middle" fill="#fff" font-family="sans-serif">z</text></svg>'
)


class LoopbackHosts:
    """An ASGI middleware: a server bound to a loopback address answers only requests whose ``Host`` names
    loopback (a web page elsewhere cannot reach it through a DNS name rebound to 127.0.0.1); bound to another
    address (``--host``), every host name is answered."""

    def __init__(self, app, bound: str):
        self.app = app
        self.check = _is_loopback(bound)

    async def __call__(self, scope, receive, send):
        if self.check and scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.lower() not in LOOPBACK_NAMES:
                body = json.dumps({"error": f"host {host[:60]!r} is not served: this server answers loopback names"})
                await send(
                    {
                        "type": "http.response.start",
                        "status": 421,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body.encode()})
                return
        await self.app(scope, receive, send)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


HTTPTOOLS_TESTED = ("0.3", "0.4", "0.5")  # uvicorn versions whose HttpToolsProtocol this subclass was tested on


def http_protocol():
    """uvicorn's C-parser protocol with the request line and headers bounded (:data:`MAX_URL_BYTES`,
    :data:`MAX_HEAD_BYTES`: 414 or 431 at once, before more is read); uvicorn's pure-Python h11 protocol, bounded
    by its own option, where the C parser is missing or the uvicorn is untested."""
    import uvicorn

    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "h11"
    if not uvicorn.__version__.startswith(HTTPTOOLS_TESTED):
        return "h11"

    class BoundedHttpTools(HttpToolsProtocol):
        head_bytes, too_long = 0, 0

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.head_bytes, self.in_head = 0, True

        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            if len(self.url) > MAX_URL_BYTES:
                self.too_long = 414

        def on_headers_complete(self) -> None:
            self.in_head = False
            super().on_headers_complete()

        def data_received(self, data: bytes) -> None:
            if getattr(self, "in_head", True):
                self.head_bytes += len(data)
            super().data_received(data)
            if not self.too_long and getattr(self, "in_head", False) and self.head_bytes > MAX_HEAD_BYTES:
                self.too_long = 431
            if self.too_long and not self.transport.is_closing():
                self.refuse(self.too_long)

        def refuse(self, status: int) -> None:
            what = "URL" if status == 414 else "request line and headers"
            limit = MAX_URL_BYTES if status == 414 else MAX_HEAD_BYTES
            body = json.dumps({"error": f"the {what} {'is' if status == 414 else 'are'} over {limit:,} bytes"}).encode()
            reason = b"URI Too Long" if status == 414 else b"Request Header Fields Too Large"
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close"
                b"\r\n\r\n%s" % (status, reason, len(body), body)
            )
            self.transport.close()

    return BoundedHttpTools


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port``; a port in use or a host not on this machine is one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port} ({err.strerror}); pick another `port` or `host`") from None
    sock.listen(2048)  # connections wait in the backlog until the server accepts them
    sock.set_inheritable(True)
    return sock
