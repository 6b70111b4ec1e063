"""An automation on leadflow's events: a welcome task for the owner of every converted lead.

    python examples/automation.py --bootstrap 127.0.0.1:9094

Stop it with Ctrl-C (or SIGTERM): the record in hand is finished and committed first. Run it
again and it goes on where its consumer group left off.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from leadflow.logs import configure
from leadflow.subscribe import Envelope, LeadConverted, Subscriber


def welcome_task(event: LeadConverted) -> str:
    owner = event.owner or "the sales queue"
    deal = (
        f"; opportunity {event.opportunity_id} worth {event.opportunity_amount}"
        if event.opportunity_id is not None
        else ""
    )
    new = "new contact" if event.contact_created else "existing contact"
    touch = f"{event.source or '(none)'}/{event.campaign or '(none)'}"
    return (
        f"TASK for {owner}: welcome {event.email or '(erased)'} ({new} {event.contact_id}, "
        f"account {event.account_id}, first touch {touch}){deal}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bootstrap", default=os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP"),
                        help="Kafka host:port (default: $LEADFLOW_KAFKA_BOOTSTRAP)")  # fmt: skip
    parser.add_argument("--group", default="example-welcome-tasks", help="consumer group")
    parser.add_argument("--prefix", default="", help="topic prefix of the leadflow to follow")
    parser.add_argument("--start", choices=["earliest", "latest"], default="earliest",
                        help="where a new group starts")  # fmt: skip
    args = parser.parse_args(argv)
    if not args.bootstrap:
        parser.error("no Kafka bootstrap: pass --bootstrap or set LEADFLOW_KAFKA_BOOTSTRAP")
    configure(os.environ.get("LEADFLOW_LOG_FORMAT", "console"))

    sub = Subscriber(args.bootstrap, args.group, prefix=args.prefix, start=args.start)
    # Delivery is at least once: a real automation keeps the event_ids it has acted on
    # (in its own store) so that a redelivered event creates no second task.
    done: set[str] = set()

    @sub.on(LeadConverted)
    def on_converted(event: LeadConverted, envelope: Envelope) -> None:
        if envelope.event_id in done:
            return
        print(welcome_task(event), flush=True)
        done.add(envelope.event_id)

    sub.run_forever()


if __name__ == "__main__":
    main()
