"""`leadflow api`: the HTTP API (CONTRACT 6) on LEADFLOW_HTTP."""

from __future__ import annotations

import ipaddress
import os

from leadflow.cli.bus import topics_from_env
from leadflow.cli.common import EXIT_CONFIG, fail, leadflow
from leadflow.container import Leadflow
from leadflow.logs import get_logger

log = get_logger("leadflow.api")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen(lf: Leadflow) -> bool:
    """Whether keys are required (any key exists, even a revoked one). Without keys it
    refuses a non-loopback address (CONTRACT 9), and logs a warning that the API is open."""
    from leadflow.api.auth import key_ring

    host, port = lf.settings.http_host, lf.settings.http_port
    keyed = key_ring(lf).configured()
    if keyed:
        return True
    if not is_loopback(host):
        raise fail(
            f"refusing to listen on {host}: no API keys are configured, so the API may only "
            "listen on loopback (127.0.0.1, ::1). Create a key (leadflow keys create NAME "
            "--role ROLE) or set LEADFLOW_API_KEYS, or listen on 127.0.0.1",
            EXIT_CONFIG,
        )
    log.warning(
        "no API keys configured: the API is open to anyone on this machine",
        listen=f"{host}:{port}",
    )
    return False


def api() -> None:
    """Serve the HTTP API until SIGTERM. Inbound items are published to Kafka when a broker
    is configured, else recorded directly. Needs an API key per request once any key exists
    (database, LEADFLOW_API_KEYS or leadflow.toml)."""
    import uvicorn

    from leadflow.api.publisher import KafkaInboundPublisher
    from leadflow.api.server import create_app

    with leadflow() as lf:
        host, port = lf.settings.http_host, lf.settings.http_port
        if check_listen(lf):
            log.info("API keys required", listen=f"{host}:{port}")
        bootstrap = os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP")
        topics = topics_from_env()
        publisher = KafkaInboundPublisher(bootstrap, topics) if bootstrap else None
        # Off loopback the API never opens, whatever happens to the keys while it runs.
        app = create_app(
            lf, publisher, bootstrap=bootstrap, topics=topics, allow_open=is_loopback(host)
        )
        try:
            uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
        finally:
            if publisher is not None:
                publisher.close()
