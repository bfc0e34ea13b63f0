# Credit Ledger service image. Configure it through the environment (see .env.example);
# docker-compose.yml runs it beside a one-node MongoDB replica set.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PLANS_FILE=/srv/plans.example.toml

RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin app

WORKDIR /srv

COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install . && rm -rf build *.egg-info
COPY plans.example.toml ./

USER app

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=3)"]

# A shell so that ${PORT:-8000} expands; exec so that uvicorn gets the signals.
CMD ["sh", "-c", "exec uvicorn app.main:app --host 0.0.0.0 --port ${PORT:-8000} --no-access-log"]
