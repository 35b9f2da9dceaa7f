"""`zoo serve`: TensorFlow Serving's REST shapes, the same numbers as the exported SavedModel, bad input answered in
one line while the server keeps serving, dynamic batching under a bounded load, and a clean stop."""

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
TAG = "lenet5.mnist"
SAVEDMODEL = ROOT / "saved_models" / "lenet5-mnist" / "savedmodel"


def digits(n: int, seed: int = 0) -> np.ndarray:
    from conftest import synthetic_images

    return synthetic_images((28, 28, 1), np.arange(n) % 10, seed)


@pytest.fixture(scope="module")
def client():
    from starlette.testclient import TestClient

    from zoo.serve.app import ServerConfig, create_app
    from zoo.serve.protocol import load_served

    served = [load_served(TAG), load_served("cifar_cnn.cifar10")]
    app = create_app(served, ServerConfig(max_body_bytes=8 << 20))
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


def test_status_and_metadata_have_tensorflow_servings_shapes(client):
    status = client.get(f"/v1/models/{TAG}").json()
    assert status == {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    meta = client.get(f"/v1/models/{TAG}/metadata").json()
    assert meta["model_spec"] == {"name": TAG, "signature_name": "", "version": "1"}
    signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    images = signature["inputs"]["images"]
    assert images["dtype"] == "DT_UINT8" and [d["size"] for d in images["tensor_shape"]["dim"]] == [
        "-1",
        "28",
        "28",
        "1",
    ]
    assert set(signature["outputs"]) == {"probabilities", "class_id", "class_name"}
    assert signature["method_name"] == "tensorflow/serving/predict"


def test_metadata_gives_the_savedmodels_own_dtypes_and_shapes(client):
    import tensorflow as tf
    from tensorflow.core.framework import types_pb2

    def dt(spec) -> str:  # TensorFlow Serving's name for a dtype: DT_FLOAT, DT_INT32, DT_STRING, DT_UINT8
        return types_pb2.DataType.Name(spec.dtype.as_datatype_enum)

    exported = tf.saved_model.load(str(SAVEDMODEL)).signatures["serving_default"]
    meta = client.get(f"/v1/models/{TAG}/metadata").json()
    signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    for name, spec in exported.structured_outputs.items():
        assert signature["outputs"][name]["dtype"] == dt(spec), name
        assert [int(d["size"]) for d in signature["outputs"][name]["tensor_shape"]["dim"]] == [
            -1 if d is None else d for d in spec.shape.as_list()
        ], name
    [image_spec] = exported.structured_input_signature[1].values()
    assert signature["inputs"]["images"]["dtype"] == dt(image_spec)


def test_a_get_on_a_post_method_is_405_and_a_foreign_host_is_refused(client):
    assert_one_line(client.get(f"/v1/models/{TAG}:predict"), 405, "GET is not allowed here; this endpoint takes POST")
    assert_one_line(client.get("/healthz", headers={"Host": "evil.example:8501"}), 421, "is not served")
    assert client.get("/healthz", headers={"Host": "localhost:8501"}).status_code == 200
    assert client.get("/favicon.ico").status_code == 200


def test_an_upload_is_decoded_off_the_event_loop(client, monkeypatch):
    """While an upload is being decoded (held here until released), /healthz and :predict are still answered: a
    7000x7000 PNG took 1.4 s to decode on the event loop, and 8 of them stalled /healthz for 13.5 s."""
    import zoo.serve.app

    decoding, release = threading.Event(), threading.Event()
    prepare = zoo.serve.app.prepare_image

    def slow_prepare(*args):
        decoding.set()
        release.wait(30)
        return prepare(*args)

    monkeypatch.setattr(zoo.serve.app, "prepare_image", slow_prepare)
    buf = io.BytesIO()
    Image.fromarray(digits(1)[0, ..., 0]).save(buf, "PNG")
    upload = ThreadPoolExecutor(1).submit(
        client.post, f"/v1/models/{TAG}:classify_image", files={"image": ("d.png", buf.getvalue())}
    )
    try:
        assert decoding.wait(30)
        assert client.get("/healthz").status_code == 200 and not upload.done()
        assert client.post(f"/v1/models/{TAG}:predict", json={"instances": digits(1).tolist()}).status_code == 200
    finally:
        release.set()
    assert upload.result(30).status_code == 200


def test_a_damaged_upload_is_400_in_one_line(client):
    from conftest import damaged_png

    answer = client.post(f"/v1/models/{TAG}:classify_image", files={"image": ("x.png", damaged_png())})
    assert_one_line(answer, 400, "unreadable image (SyntaxError")


def test_predict_gives_the_exported_savedmodels_numbers_in_rows_and_columns(client):
    import tensorflow as tf

    images = digits(5)
    rows = client.post(f"/v1/models/{TAG}:predict", json={"instances": images.tolist()}).json()["predictions"]
    named = client.post(f"/v1/models/{TAG}:predict", json={"instances": [{"images": x} for x in images.tolist()]})
    columns = client.post(f"/v1/models/{TAG}:predict", json={"inputs": {"images": images.tolist()}}).json()["outputs"]
    serving = tf.saved_model.load(str(SAVEDMODEL)).signatures["serving_default"]
    direct = serving(images=tf.constant(images))
    np.testing.assert_allclose([r["probabilities"] for r in rows], direct["probabilities"].numpy(), atol=1e-6)
    assert [r["class_id"] for r in rows] == direct["class_id"].numpy().tolist() == columns["class_id"]
    assert [r["class_name"] for r in rows] == [n.decode() for n in direct["class_name"].numpy()]
    assert named.json()["predictions"] == rows
    np.testing.assert_allclose(columns["probabilities"], [r["probabilities"] for r in rows], atol=1e-7)


def test_the_readmes_requests_get_the_readmes_answers(client):
    readme = (ROOT / "README.md").read_text()
    with open(ROOT / "docs" / "img" / "digit-1.png", "rb") as f:
        drawn = client.post(f"/v1/models/{TAG}:classify_image", files={"image": ("digit-1.png", f)}).json()
    assert drawn["inverted"] and drawn["top_k"][0]["class_name"] == "1"
    assert '{"model":"lenet5.mnist","inverted":true,"top_k":[{"class_name":"1","probability":0.997' in readme
    assert f'{{"class_name":"{drawn["top_k"][1]["class_name"]}"' in readme
    blank = client.post(f"/v1/models/{TAG}:predict", json={"instances": [[[[0]] * 28] * 28]}).json()
    assert f'"class_id":{blank["predictions"][0]["class_id"]},"class_name":"8"' in readme
    assert f"[{str(blank['predictions'][0]['probabilities'][0])[:6]}..." in readme


def test_classify_image_applies_zoo_predicts_rules(client):
    import zoo

    sample = ROOT / "docs" / "img" / "cifar-sample.png"
    with open(sample, "rb") as f:
        answer = client.post(
            "/v1/models/cifar_cnn.cifar10:classify_image?features=1", files={"image": ("x.png", f, "image/png")}
        ).json()
    [expected] = zoo.predict("cifar_cnn.cifar10", [sample])
    assert [t["class_name"] for t in answer["top_k"]] == [t["class_name"] for t in expected.top_k]
    assert answer["feature_maps"].startswith("data:image/png;base64,")


def bomb_png() -> bytes:
    """A PNG whose header claims 30000x30000 pixels (a few kB on disk)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buf, "PNG")
    return buf.getvalue()


BAD = [
    ("malformed JSON", {"content": b'{"instances": [1, 2'}, 400, "not valid JSON"),
    ("not an object", {"json": [1, 2, 3]}, 400, "JSON object"),
    ("both keys", {"json": {"instances": [], "inputs": []}}, 400, "exactly one of"),
    ("wrong nesting", {"json": {"instances": [[[0]], [[0, 0]]]}}, 400, "wrong nesting"),
    ("wrong shape", {"json": {"instances": np.zeros((1, 32, 32, 3), int).tolist()}}, 400, "takes [N, 28, 28, 1]"),
    ("strings", {"json": {"instances": [[["a"] * 1] * 28] * 28}}, 400, "pixels must be numbers"),
    ("booleans", {"json": {"instances": np.zeros((1, 28, 28, 1), bool).tolist()}}, 400, "pixels must be numbers"),
    (
        "booleans among numbers",
        {"json": {"instances": [[[[True]] + [[0]] * 27] + [[[0]] * 28] * 27]}},
        400,
        "pixels must be numbers",
    ),
    ("NaN", {"content": b'{"instances": [[[NaN]]]}'}, 400, "NaN is not a number JSON allows"),
    ("Infinity", {"content": b'{"instances": [[[Infinity]]]}'}, 400, "Infinity is not a number"),
    ("negative", {"json": {"instances": (-np.ones((1, 28, 28, 1), int)).tolist()}}, 400, "0-255"),
    ("over 255", {"json": {"instances": np.full((1, 28, 28, 1), 256).tolist()}}, 400, "0-255"),
    ("fractions", {"json": {"instances": np.full((1, 28, 28, 1), 0.5).tolist()}}, 400, "whole numbers"),
    ("empty list", {"json": {"instances": []}}, 400, "no images"),
    ("10,000 instances", {"json": {"instances": [0] * 10_000}}, 400, "10,000 images in one request"),
    ("a 50 MB body", {"content": b" " * (50 << 20)}, 413, "over 8,388,608 bytes"),
    ("another signature", {"json": {"signature_name": "x", "instances": [0]}}, 400, "unknown signature_name"),
    ("an unnamed input", {"json": {"inputs": {"pixels": [0]}}}, 400, 'named "images"'),
]


@pytest.mark.parametrize(("case", "request_args", "status", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_predict_requests_get_one_line_and_the_server_keeps_serving(client, case, request_args, status, message):
    answer = client.post(f"/v1/models/{TAG}:predict", **request_args)
    assert_one_line(answer, status, message)
    good = client.post(f"/v1/models/{TAG}:predict", json={"instances": digits(1).tolist()})
    assert good.status_code == 200


def assert_one_line(answer, status: int, message: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert list(body) == ["error"] and "\n" not in body["error"] and message in body["error"], body
    assert "Traceback" not in answer.text and str(ROOT) not in answer.text and "/tmp" not in answer.text


@pytest.mark.parametrize(
    ("case", "path", "files", "status", "message"),
    [
        (
            "a decompression bomb",
            f"/v1/models/{TAG}:classify_image",
            {"image": ("b.png", bomb_png())},
            400,
            "megapixels",
        ),
        ("not an image", f"/v1/models/{TAG}:classify_image", {"image": ("x.png", b"hello")}, 400, "not an image"),
        ("no file", f"/v1/models/{TAG}:classify_image", {"other": ("x.png", b"hello")}, 400, "field named image"),
        ("an unknown model", "/v1/models/resnet50:predict", None, 404, "no model named 'resnet50'"),
        ("a name with ../", "/v1/models/..%2F..%2Fetc%2Fpasswd:predict", None, 404, "no model named"),
        ("an unknown method", f"/v1/models/{TAG}:regress", None, 404, "unknown method"),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith("/") else None,
)
def test_bad_uploads_names_and_methods_get_one_line(client, case, path, files, status, message):
    answer = client.post(path, files=files) if files else client.post(path, json={"instances": [0]})
    assert_one_line(answer, status, message)


def test_an_upload_that_is_not_multipart_is_refused(client):
    assert_one_line(client.post(f"/v1/models/{TAG}:classify_image", content=b"x"), 415, "multipart/form-data")


def test_no_cors_unless_asked(client):
    from starlette.testclient import TestClient

    from zoo.serve.app import ServerConfig, create_app

    plain = client.get("/healthz", headers={"Origin": "http://example.org"})
    assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers
    app = create_app(client.app.state.served, ServerConfig(cors="http://localhost:3000"))
    with TestClient(app, base_url="http://localhost:8501") as allowed:
        answer = allowed.get("/healthz", headers={"Origin": "http://localhost:3000"})
        assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_the_page_is_served_with_no_outside_resources(client):
    page = client.get("/").text
    assert "<canvas" in page and 'type="file"' in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # no CDN: works offline


# --- a real server ---------------------------------------------------------------------------------------------


def start_server(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoo", "serve", TAG, *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"Serving at (http://\S+)/ ", line)
        if match:
            return proc, match.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"the server did not start: {proc.stderr.read()[-2000:]}")


def post(url: str, payload: dict, timeout: float = 60) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


@pytest.mark.slow
def test_a_bounded_load_of_64_clients_is_batched_and_every_answer_is_the_single_answer():
    proc, url = start_server("--max-batch", "64", "--batch-wait-ms", "10")
    try:
        images = digits(64, seed=3)
        predict = f"{url}/v1/models/{TAG}:predict"
        single = [post(predict, {"instances": [image.tolist()]})["predictions"][0] for image in images]
        before = json.loads(urllib.request.urlopen(f"{url}/healthz").read())

        def client(i: int) -> list[dict]:
            return [post(predict, {"instances": [images[i].tolist()]})["predictions"][0] for _ in range(4)]

        started = time.monotonic()
        with ThreadPoolExecutor(64) as pool:
            answers = list(pool.map(client, range(64), timeout=120))
        assert time.monotonic() - started < 120
        after = json.loads(urllib.request.urlopen(f"{url}/healthz").read())
        assert after["requests"] - before["requests"] == 256  # none lost
        calls = after["model_calls"][TAG] - before["model_calls"][TAG]
        assert calls < 256 / 2, calls  # gathered into batches
        for i, answered in enumerate(answers):
            for answer in answered:
                assert answer["class_id"] == single[i]["class_id"]
                np.testing.assert_allclose(answer["probabilities"], single[i]["probabilities"], atol=1e-5)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Stopped." in out and "Traceback" not in err, err


@pytest.mark.slow
def test_sigterm_lets_a_request_in_flight_finish():
    proc, url = start_server("--batch-wait-ms", "500")  # a request waits half a second for company
    try:
        result = {}
        thread = threading.Thread(
            target=lambda: result.update(post(f"{url}/v1/models/{TAG}:predict", {"instances": digits(1).tolist()}))
        )
        thread.start()
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        thread.join(60)
        assert result["predictions"][0]["class_name"] in [str(i) for i in range(10)]
    finally:
        proc.send_signal(signal.SIGTERM) if proc.poll() is None else None
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err


def raw_request(url: str, data: bytes, read: bool = True) -> bytes:
    """Send raw bytes to the server at ``url``; its answer (up to 64 kB), or b"" where it closed first."""
    import socket

    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before all of it was sent
        if not read:
            return b""
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.slow
def test_oversized_headers_and_urls_disconnects_and_a_stop_mid_body_are_one_line_each():
    import socket

    proc, url = start_server()
    try:
        head = raw_request(url, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431 ") and b"are over 65,536 bytes" in head, head[:200]
        long_url = raw_request(url, b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert long_url.startswith(b"HTTP/1.1 414 "), long_url[:200]
        many = b"".join(b"X-%d: %s\r\n" % (i, b"b" * 100) for i in range(2000))  # 200 kB of small headers
        assert raw_request(url, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"\r\n").startswith(
            b"HTTP/1.1 431 "
        )
        predict = f"POST /v1/models/{TAG}:predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        for _ in range(3):  # clients that go away mid-body
            raw_request(url, predict.encode() + b"Content-Length: 100000\r\n\r\n" + b'{"instances": [', read=False)
        time.sleep(0.5)
        assert json.loads(urllib.request.urlopen(f"{url}/healthz", timeout=30).read())["status"] == "ok"
        host, port = url.removeprefix("http://").rsplit(":", 1)
        hanging = socket.create_connection((host, int(port)), timeout=30)  # a client mid-body at the stop
        hanging.sendall(predict.encode() + b"Content-Length: 100000\r\n\r\n" + b'{"instances": [')
        time.sleep(0.3)
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        hanging.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    from zoo.serve.app import GRACEFUL_SHUTDOWN_S

    assert time.monotonic() - stopped < GRACEFUL_SHUTDOWN_S + 10
    assert "Traceback" not in err, err
    disconnects = [line for line in err.splitlines() if "disconnected before its body arrived" in line]
    assert len(disconnects) == 3, err
    assert len(err.splitlines()) <= 3 + 4, err  # the three, the stop's cancel and uvicorn's own few lines


def test_serve_binds_loopback_by_default_and_a_busy_port_is_one_line(cli_runner, zoo_cli):
    import socket

    from conftest import assert_one_line_error, run

    serve = zoo_cli.commands["serve"]
    assert next(p for p in serve.params if p.name == "host").default == "127.0.0.1"
    busy = socket.create_server(("127.0.0.1", 0))
    try:
        result = run(cli_runner, zoo_cli, "serve", TAG, "--port", busy.getsockname()[1])
        assert_one_line_error(result, 2, "cannot listen on 127.0.0.1:")
    finally:
        busy.close()


if os.environ.get("ZOO_SERVE_SCREENSHOT"):  # python -m pytest tests/test_serve.py -k browser, to refresh docs/img
    SCREENSHOT = ROOT / "docs" / "img" / "serve.png"
else:
    SCREENSHOT = None


def chrome():
    """Headless Chromium through Debian's chromedriver; skipped only where neither is installed and not in CI."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
    if not (binary.exists() and driver.exists()):
        if os.environ.get("CI"):
            raise AssertionError("CI must install chromium and chromium-driver (.ci/run does)")
        pytest.skip("chromium and chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = str(binary)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1000,760",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(driver)), options=options)


@pytest.mark.slow
def test_the_page_in_a_real_browser_reads_a_drawn_digit_and_an_uploaded_photo(tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    import zoo

    # A model folder whose name and class names are HTML: the page must show them as text, never run them.
    xss_model = tmp_path / "<img src=x onerror=window.pwned=1>"
    shutil.copytree(ROOT / "saved_models" / "lenet5-mnist", xss_model, ignore=shutil.ignore_patterns("savedmodel"))
    card = json.loads((xss_model / "card.json").read_text())
    card["class_names"] = [f'<img src=x onerror="window.pwned={i}">{i}' for i in range(10)]
    (xss_model / "card.json").write_text(json.dumps(card))
    browser = chrome()  # (skips before anything starts where there is no browser)
    try:
        proc, url = start_server("cifar_cnn.cifar10", str(xss_model))
    except BaseException:
        browser.quit()
        raise
    try:
        browser.get(url + "/")
        wait = WebDriverWait(browser, 60)
        wait.until(lambda b: b.find_element(By.ID, "model").get_attribute("value") == "0")
        pad = browser.find_element(By.ID, "pad")
        # a "1": one stroke down the middle, from (140, 50) to (140, 230) on the 280x280 pad
        ActionChains(browser).move_to_element_with_offset(pad, 0, -90).click_and_hold().move_by_offset(
            0, 60
        ).move_by_offset(0, 60).move_by_offset(0, 60).release().perform()
        wait.until(lambda b: b.find_element(By.ID, "prediction").text != "")
        assert browser.find_element(By.ID, "prediction").text == "1"
        assert browser.find_element(By.ID, "maps").get_attribute("src").startswith("data:image/png")
        assert browser.find_element(By.ID, "hint").text == "draw a digit"
        browser.find_element(By.ID, "clear").click()  # Clear empties the answer, the maps too
        assert browser.find_element(By.ID, "prediction").text == ""
        assert browser.find_element(By.ID, "maps").get_attribute("src") is None
        # a small "1" off in the top-left corner (80 px of the 280 px pad): framed as MNIST's digits are
        ActionChains(browser).move_to_element_with_offset(pad, -100, -110).click_and_hold().move_by_offset(
            0, 40
        ).move_by_offset(0, 40).release().perform()
        wait.until(lambda b: b.find_element(By.ID, "prediction").text != "")
        assert browser.find_element(By.ID, "prediction").text == "1"
        Select(browser.find_element(By.ID, "model")).select_by_value("2")  # the folder named in HTML
        assert browser.find_element(By.CSS_SELECTOR, "#model option[value='2']").text == xss_model.name
        ActionChains(browser).move_to_element_with_offset(pad, 0, -90).click_and_hold().move_by_offset(
            0, 180
        ).release().perform()
        wait.until(lambda b: b.find_element(By.ID, "prediction").text != "")
        assert browser.find_element(By.ID, "prediction").text.startswith("<img src=x")  # shown as text
        assert browser.execute_script("return window.pwned") is None
        assert not browser.find_elements(By.CSS_SELECTOR, "img[src='x']")
        Select(browser.find_element(By.ID, "model")).select_by_visible_text("cifar_cnn.cifar10")
        sample = ROOT / "docs" / "img" / "cifar-sample.png"
        browser.find_element(By.ID, "file").send_keys(str(sample))
        wait.until(lambda b: b.find_element(By.ID, "prediction").text != "")
        [expected] = zoo.predict("cifar_cnn.cifar10", [sample])
        assert browser.find_element(By.ID, "prediction").text == expected.top_k[0]["class_name"]
        if SCREENSHOT:
            Select(browser.find_element(By.ID, "model")).select_by_visible_text(TAG)
            ActionChains(browser).move_to_element_with_offset(pad, 0, -90).click_and_hold().move_by_offset(
                0, 180
            ).release().perform()
            wait.until(lambda b: b.find_element(By.ID, "prediction").text != "")
            time.sleep(1)
            browser.save_screenshot(str(SCREENSHOT))
    finally:
        browser.quit()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
