# Credit Ledger service image: `python -m app serve` with APP_ENV=production. Configure it
# through the environment (see .env.example); docker-compose.yml runs it beside a one-node
# MongoDB replica set. Exact versions: the base image by tag, every package by the lock.
FROM python:3.11.14-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /build
# The dependencies first, from the production lock (no embedded engine, no dev tools), each
# file checked against the lock's hashes: this layer is rebuilt only when the lock changes.
# Then the service alone (its build backend pinned in pyproject.toml). These lines are what
# tests/test_production_start.py replays to start the service as the image does.
COPY requirements/prod.lock ./
RUN /opt/venv/bin/pip install --require-hashes -r prod.lock
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/venv/bin/pip install --no-deps .

FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    APP_ENV=production \
    PLANS_FILE=/srv/plans.example.toml \
    HOST=0.0.0.0 \
    PORT=8000

# A numeric USER, so that an orchestrator can check it is not root (runAsNonRoot).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv
COPY plans.example.toml ./

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=3)"]

# Workers: WEB_CONCURRENCY; trusted proxies: FORWARDED_ALLOW_IPS; on SIGTERM, requests in
# flight get GRACEFUL_TIMEOUT seconds (default 20) to finish.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "app", "serve"]
