"""The two inbound consumers: engagement and spend, wired to their use cases."""

from __future__ import annotations

from dataclasses import dataclass

from leadflow.consumers.pipeline import ConsumerSettings, InboundConsumer
from leadflow.container import Leadflow
from leadflow.domain.engagement import Engagement
from leadflow.schemas import SpendIn, parse_engagement, parse_spend
from leadflow.topics import Topics

ENGAGEMENT_GROUP = "leadflow.engagement"
SPEND_GROUP = "leadflow.spend"


@dataclass(frozen=True)
class InboundOptions:
    bootstrap: str
    topics: Topics
    group_prefix: str = ""
    max_batch: int = 1000


def engagement_consumer(lf: Leadflow, opts: InboundOptions) -> InboundConsumer[Engagement]:
    return InboundConsumer(
        ConsumerSettings(
            bootstrap=opts.bootstrap,
            topic=opts.topics.engagement,
            dlq_topic=opts.topics.engagement_dlq,
            group_id=opts.group_prefix + ENGAGEMENT_GROUP,
            max_batch=opts.max_batch,
            topics=opts.topics,
        ),
        parse=lambda raw: parse_engagement(raw),
        process=lf.engagement.record,
    )


def spend_consumer(lf: Leadflow, opts: InboundOptions) -> InboundConsumer[SpendIn]:
    currency = lf.currency
    return InboundConsumer(
        ConsumerSettings(
            bootstrap=opts.bootstrap,
            topic=opts.topics.spend,
            dlq_topic=opts.topics.spend_dlq,
            group_id=opts.group_prefix + SPEND_GROUP,
            max_batch=opts.max_batch,
            topics=opts.topics,
        ),
        parse=lambda raw: parse_spend(raw, currency),
        process=lf.spend.record,
    )
