"""python -m app serve: the production start (workers, proxy headers, graceful shutdown).

Every setting and the catalog are checked and the port is taken before any worker starts, so
a mistake is one line and exit status 2, as for `dev`."""

from __future__ import annotations

import argparse
import logging
import os

from app.cli.common import CommandError

log = logging.getLogger("app")

# Time given to requests in flight after SIGTERM before connections are closed; orchestrators
# wait longer than this (Docker: 10 s by default, so compose sets stop_grace_period).
DEFAULT_GRACEFUL_SECONDS = 20


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise CommandError(f"cannot start: {name} must be a whole number of at least 1")
    return int(raw)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default=os.environ.get("HOST", "0.0.0.0"),
        help="address to listen on (default: $HOST or 0.0.0.0)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes (default: $WEB_CONCURRENCY or 1); more than one needs MONGODB_URI",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        default=None,
        metavar="IPS",
        help="proxies whose X-Forwarded-For/-Proto are trusted, comma-"
        "separated, or * (default: $FORWARDED_ALLOW_IPS or 127.0.0.1)",
    )
    parser.add_argument(
        "--graceful-timeout",
        type=int,
        default=None,
        metavar="SECONDS",
        help="on SIGTERM, how long requests in flight may finish (default: "
        f"$GRACEFUL_TIMEOUT or {DEFAULT_GRACEFUL_SECONDS})",
    )


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from app.cli.startup import bind_port, load_configuration, run_server
    from app.http.app import configure_logging, create_app

    workers = args.workers if args.workers is not None else env_int("WEB_CONCURRENCY", 1)
    graceful = (
        args.graceful_timeout
        if args.graceful_timeout is not None
        else env_int("GRACEFUL_TIMEOUT", DEFAULT_GRACEFUL_SECONDS)
    )
    if workers < 1:
        raise CommandError("cannot start: --workers must be at least 1")
    # The production start applies the production rules unless its caller sets APP_ENV (a
    # .env file does not count); set in the environment, so the worker processes inherit it.
    chosen = os.environ.get("APP_ENV", "").strip()
    if not chosen:
        os.environ["APP_ENV"] = "production"
    configuration = load_configuration()
    settings = configuration.settings
    if workers > 1 and not settings.mongodb_uri:
        raise CommandError(
            "cannot start: WEB_CONCURRENCY/--workers above 1 needs MONGODB_URI "
            "(each worker would have its own embedded in-memory database)"
        )
    sock = bind_port(args.host, settings.port)
    configure_logging(settings.app_env == "production")
    # The first line of the log: which rules this server runs under, and why.
    log.info(
        "Credit Ledger serve: %s rules (%s)",
        settings.app_env,
        "APP_ENV set by the caller" if chosen else "APP_ENV unset: serve's default",
    )
    options = dict(
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,  # None: uvicorn reads the variable
        timeout_graceful_shutdown=graceful,
        server_header=False,
        log_level="info",
        access_log=False,  # app/http/access_log.py logs the failed and the slow requests
        log_config=None,  # uvicorn's lines go through app/kit/logs.py's handler
    )
    if workers > 1:
        # Each worker process imports the app by name and builds it from the same environment.
        config = uvicorn.Config("app.http.app:app", workers=workers, **options)
        log.info("serving on %s:%d with %d worker processes", args.host, settings.port, workers)
    else:
        config = uvicorn.Config(create_app(settings, catalog=configuration.catalog), **options)

    def started() -> None:
        log.info(
            "Credit Ledger (%s) serving on %s:%d (pid %d)",
            settings.app_env,
            args.host,
            settings.port,
            os.getpid(),
        )

    return run_server(config, sock, started)
