"""``zoo serve``'s application: TensorFlow Serving's REST API over saved models (:mod:`zoo.serve.protocol`), batched
under load (:mod:`zoo.serve.batching`), with a page for people.

    GET  /v1/models/NAME[/versions/1]              the model's status
    GET  /v1/models/NAME[/versions/1]/metadata     its serving signature
    POST /v1/models/NAME[/versions/1]:predict      TensorFlow Serving's predict, rows or columns
    POST /v1/models/NAME:classify_image            a multipart image upload → top-k (as ``zoo predict`` prepares it)
    GET  /v1/models, /healthz, /, /favicon.ico     what is served, a probe, the page to draw on, its icon

Every endpoint is a function of this module, routed explicitly; what it needs (the models, the config, the model's
and the decoders' threads) is on ``request.app.state``. Errors are ``{"error": "one line"}`` with a 4xx or 5xx
status. The request line and headers are bounded (414/431 at once), uploads are decoded off the event loop, and a
server bound to loopback answers loopback host names only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from zoo import extras
from zoo.errors import UsageError, ZooError, first_line
from zoo.prediction import DARK_BACKGROUND_DATASETS, best, prepare_image
from zoo.serve.batching import BATCH_WAIT_MS, MAX_BATCH, Batcher, warm_up
from zoo.serve.protocol import (
    MAX_BODY_BYTES,
    TOP_K,
    RequestError,
    Served,
    feature_png,
    images_of,
    load_served,
    metadata,
    parse_json,
    predictions,
    status,
)

log = logging.getLogger("zoo.serve")
DEFAULT_PORT = 8501  # TensorFlow Serving's REST port
MAX_HEAD_BYTES = 64 << 10  # request line and headers together: over this is 431 (a long URL alone: 414)
MAX_URL_BYTES = 8 << 10
GRACEFUL_SHUTDOWN_S = 5  # on Ctrl-C or SIGTERM, requests in flight get this long to finish, then are cancelled
DECODE_THREADS = 2  # uploads are decoded on these, off the event loop and off the model's thread


@dataclass
class ServerConfig:
    max_batch: int = MAX_BATCH
    batch_wait_ms: float = BATCH_WAIT_MS
    batching: bool = True
    max_body_bytes: int = MAX_BODY_BYTES
    cors: str | None = None
    host: str = "127.0.0.1"  # bound to loopback, only loopback host names are answered (DNS rebinding)
    stats: dict[str, int] = field(default_factory=lambda: {"requests": 0})


# --- the endpoints ----------------------------------------------------------------------------------------------


def error(status: int, message: str):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status)


def answering(handler):
    """Every answer, an error too, comes from here: a refused request is its one line, a client gone mid-body or a
    request cancelled at shutdown one log line, anything else a 500 and one log line (Starlette's own handler for
    exceptions would re-raise them, and uvicorn would log a traceback)."""
    from starlette.requests import ClientDisconnect
    from starlette.responses import Response

    async def answer(request):
        try:
            return await handler(request)
        except RequestError as err:
            return error(err.status, str(err))
        except ClientDisconnect:
            where = f"{request.method} {request.url.path[:80]}"
            log.warning("zoo serve: %s: the client disconnected before its body arrived", where)
            return Response(status_code=400)
        except asyncio.CancelledError:
            log.warning("zoo serve: %s %s: cancelled at shutdown", request.method, request.url.path[:80])
            return error(503, "the server is shutting down")
        except Exception as err:  # noqa: BLE001  (the model's or a library's: one line, not a traceback)
            where = f"{request.method} {request.url.path[:80]}"
            log.error("zoo serve: %s: %s: %s", where, type(err).__name__, first_line(err, 160))
            return error(500, f"the model could not answer ({type(err).__name__})")

    return answer


def served_model(request) -> Served:
    """The model a request names; a name is only ever looked up here, never on the file system."""
    name = request.path_params["name"]
    models = request.app.state.models
    if name not in models:
        raise RequestError(404, f"no model named {name[:60]!r} is served; see GET /v1/models")
    return models[name]


async def body_of(request) -> bytes:
    limit = request.app.state.config.max_body_bytes
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise RequestError(413, f"the body is over {limit:,} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the body is over {limit:,} bytes")
        chunks.append(chunk)
    request.app.state.config.stats["requests"] += 1
    return b"".join(chunks)


async def run_model(request, model: Served, images: np.ndarray) -> np.ndarray:
    if model.batcher is not None:
        return await model.batcher.predict(images)
    return await asyncio.get_running_loop().run_in_executor(request.app.state.executor, model.run, images)


async def index(request):
    from starlette.responses import HTMLResponse

    return HTMLResponse(request.app.state.page)


async def favicon(request):
    from starlette.responses import Response

    return Response(FAVICON, media_type="image/svg+xml")


async def healthz(request):
    from starlette.responses import JSONResponse

    served = request.app.state.served
    calls = {s.name: s.batcher.batches for s in served if s.batcher is not None}
    answer = {"status": "ok", "models": sorted(request.app.state.models)}
    answer["requests"] = request.app.state.config.stats["requests"]
    return JSONResponse(answer | ({"model_calls": calls} if calls else {}))


async def list_models(request):
    from starlette.responses import JSONResponse

    rows = [
        {
            "name": s.name,
            "model": s.card.model,
            "dataset": s.card.dataset,
            "input_shape": list(s.shape),
            "class_names": s.class_names,
            "draw": s.card.dataset in DARK_BACKGROUND_DATASETS,
            "features": s.features is not None,
        }
        for s in request.app.state.served
    ]
    return JSONResponse({"models": rows})


async def model_status(request):
    from starlette.responses import JSONResponse

    if request.path_params["name"].rpartition(":")[2] in ("predict", "classify_image"):  # GET on a POST method
        raise RequestError(405, "GET is not allowed here; this endpoint takes POST")
    return JSONResponse(status(served_model(request)))


async def model_metadata(request):
    from starlette.responses import JSONResponse

    return JSONResponse(metadata(served_model(request)))


async def predict(request):
    from starlette.responses import JSONResponse

    model = served_model(request)
    body = await body_of(request)
    images, columnar = images_of(parse_json(body), model, b"true" in body or b"false" in body)
    return JSONResponse(predictions(model, await run_model(request, model, images), columnar))


async def classify_image(request):
    from starlette.formparsers import MultiPartException, MultiPartParser
    from starlette.responses import JSONResponse

    model = served_model(request)
    body = await body_of(request)

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
    loop = asyncio.get_running_loop()
    try:  # decoded off the event loop: a large image must not stall other requests (its size is checked first)
        pixels, inverted = await loop.run_in_executor(
            request.app.state.decoder,
            prepare_image,
            data,
            model.shape,
            invert,
            model.card.dataset,
            model.card.fits_images,
        )
    except ZooError as err:
        raise RequestError(400, str(err)) from None
    probs = (await run_model(request, model, pixels[None]))[0]
    result: dict[str, Any] = {
        "model": model.name,
        "inverted": inverted,
        "top_k": [{k: t[k] for k in ("class_name", "probability")} for t in best(probs, model.class_names, TOP_K)],
    }
    if request.query_params.get("features") and model.features is not None:
        maps = await loop.run_in_executor(request.app.state.executor, model.features, pixels[None])
        result["feature_maps"] = feature_png(maps[0])
    return JSONResponse(result)


async def unknown(request):
    """What no route names: an unknown method or endpoint, or a model that is not served."""
    target = request.path_params["target"]
    name, _, verb = target.rpartition(":")
    if request.method == "POST" and verb in ("predict", "classify_image"):
        request.path_params["name"] = name.removesuffix("/versions/1")
        served_model(request)  # not served: 404 naming it
    if request.method == "POST":
        raise RequestError(404, "unknown method; POST /v1/models/NAME:predict or :classify_image")
    raise RequestError(404, "unknown endpoint; see GET /v1/models/NAME, /metadata, POST :predict")


async def on_error(request, exc: Exception):
    """The router's own 404 and 405 (a path no route matches, a method its route does not take)."""
    if getattr(exc, "status_code", 404) == 405:
        allowed = (getattr(exc, "headers", None) or {}).get("Allow", "another method")
        return error(405, f"{request.method} is not allowed here; this endpoint takes {allowed}")
    return error(404, "no such endpoint; see GET /v1/models")


@contextlib.asynccontextmanager
async def lifespan(app):
    config = app.state.config
    for model in app.state.served:
        if config.batching:
            model.batcher = Batcher(model.run, config.max_batch, config.batch_wait_ms / 1000, app.state.executor)
            model.batcher.start()
    yield
    for model in app.state.served:  # uvicorn has let the requests in flight finish
        if model.batcher is not None:
            await model.batcher.stop()
            model.batcher = None
    app.state.executor.shutdown(wait=True)
    app.state.decoder.shutdown(wait=True)


def routes() -> list:
    """The API's routes, each named in full (TensorFlow Serving's paths, with and without ``/versions/1``)."""
    from starlette.routing import Route

    post, get = ["POST"], ["GET"]
    return [
        Route("/", answering(index), methods=get),
        Route("/favicon.ico", answering(favicon), methods=get),
        Route("/healthz", answering(healthz), methods=get),
        Route("/v1/models", answering(list_models), methods=get),
        Route("/v1/models/{name}:predict", answering(predict), methods=post),
        Route("/v1/models/{name}/versions/1:predict", answering(predict), methods=post),
        Route("/v1/models/{name}:classify_image", answering(classify_image), methods=post),
        Route("/v1/models/{name}", answering(model_status), methods=get),
        Route("/v1/models/{name}/versions/1", answering(model_status), methods=get),
        Route("/v1/models/{name}/metadata", answering(model_metadata), methods=get),
        Route("/v1/models/{name}/versions/1/metadata", answering(model_metadata), methods=get),
        Route("/v1/models/{target:path}", answering(unknown), methods=["GET", "POST"]),
    ]


def create_app(served: list[Served], config: ServerConfig | None = None):
    """The Starlette application serving ``served`` (loaded already)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware

    config = config or ServerConfig()
    middleware = [Middleware(LoopbackHosts, bound=config.host)]
    if config.cors:
        middleware.append(
            Middleware(CORSMiddleware, allow_origins=[config.cors], allow_methods=["GET", "POST"], allow_headers=["*"])
        )
    handlers = {404: on_error, 405: on_error}
    app = Starlette(routes=routes(), middleware=middleware, exception_handlers=handlers, lifespan=lifespan)
    app.state.config, app.state.served, app.state.models = config, served, {s.name: s for s in served}
    app.state.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoo-model")
    app.state.decoder = ThreadPoolExecutor(max_workers=DECODE_THREADS, thread_name_prefix="zoo-decode")
    app.state.page = resources.files("zoo").joinpath("web/index.html").read_text()
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
