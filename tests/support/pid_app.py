"""A WSGI app for tests/integration/test_serving.py: each request takes SLOW seconds
and answers with the worker's process id."""

import os
import time

SLOW = 1.0


def app(environ, start_response):
    time.sleep(SLOW)
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
