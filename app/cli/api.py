"""`leadflow api`: the HTTP API (CONTRACT 6) on LEADFLOW_HTTP."""

from __future__ import annotations

import ipaddress
import os

from leadflow.cli.bus import topics_from_env
from leadflow.cli.common import EXIT_CONFIG, fail, leadflow
from leadflow.logs import get_logger

log = get_logger("leadflow.api")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api() -> None:
    """Serve the HTTP API until SIGTERM. Inbound items are published to Kafka when a broker
    is configured, else recorded directly."""
    import uvicorn

    from leadflow.api.publisher import KafkaInboundPublisher
    from leadflow.api.server import create_app

    with leadflow() as lf:
        host, port = lf.settings.http_host, lf.settings.http_port
        if not is_loopback(host):
            # CONTRACT 9: without API keys the API is open only on loopback.
            raise fail(
                f"refusing to listen on {host}: no API keys are configured, so the API "
                "may only listen on loopback (127.0.0.1, ::1)",
                EXIT_CONFIG,
            )
        log.warning(
            "no API keys configured: the API is open to anyone on this machine",
            listen=f"{host}:{port}",
        )
        bootstrap = os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP")
        topics = topics_from_env()
        publisher = KafkaInboundPublisher(bootstrap, topics) if bootstrap else None
        app = create_app(lf, publisher, bootstrap=bootstrap, topics=topics)
        try:
            uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
        finally:
            if publisher is not None:
                publisher.close()
