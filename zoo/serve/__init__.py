"""``zoo serve``: saved models behind TensorFlow Serving's REST API, batched under load, with a page for people.

- :mod:`zoo.serve.protocol`: what is served and TensorFlow Serving's request and answer shapes;
- :mod:`zoo.serve.batching`: dynamic batching on one model thread;
- :mod:`zoo.serve.app`: the Starlette application, its endpoints and routes, and :func:`serve` on uvicorn.
"""
