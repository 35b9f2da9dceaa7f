"""``zoo serve``."""

from __future__ import annotations

import click

from cli.options import (
    device_option,
    start_tensorflow,
)


@click.command()
@click.argument("models", nargs=-1, required=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", type=click.IntRange(0, 65535), default=8501, show_default=True, help="TensorFlow Serving's.")
@click.option(
    "--max-batch", type=click.IntRange(1, 4096), default=64, show_default=True, help="Images in one model call."
)
@click.option(
    "--batch-wait-ms",
    type=click.FloatRange(0, 1000),
    default=0.0,
    show_default=True,
    help="How long a batch that is not full waits for more requests (0: it takes what queued meanwhile).",
)
@click.option("--batching/--no-batching", default=True, show_default=True, help="Gather concurrent requests.")
@click.option(
    "--max-body-mb", type=click.FloatRange(0.01, 1024), default=8.0, show_default=True, help="Largest request body."
)
@click.option("--cors", default=None, help="Let pages from this origin (e.g. http://localhost:3000) call the API.")
@device_option
def serve(models, host, port, max_batch, batch_wait_ms, batching, max_body_mb, cors, device) -> None:
    """Serve MODEL_DIR|TAG... over TensorFlow Serving's REST API (POST /v1/models/NAME:predict), with a page to
    draw on at /; each model under its tag or folder name."""
    start_tensorflow(device)
    import zoo.serve.app
    from zoo.device import use_device

    use_device(device)
    config = zoo.serve.app.ServerConfig(max_batch, batch_wait_ms, batching, int(max_body_mb * (1 << 20)), cors)
    try:
        zoo.serve.app.serve(list(models), host=host, port=port, config=config, log=click.echo)
    except KeyboardInterrupt:
        pass
    click.echo("Stopped.")
