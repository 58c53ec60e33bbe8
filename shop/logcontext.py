"""The ids a log line carries: the request's (also sent along with the tasks it
queues) and the Celery task's. Below everything, so any layer can read them."""

import contextvars

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
task_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()
