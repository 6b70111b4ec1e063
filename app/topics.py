"""Topic names (CONTRACT 2). A prefix gives tests and tenants their own fresh set."""

from __future__ import annotations

from dataclasses import dataclass

AGGREGATE_TYPES = ("Lead", "Contact", "Account", "Opportunity", "Spend", "Person")


@dataclass(frozen=True)
class Topics:
    prefix: str = ""

    def _t(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @property
    def engagement(self) -> str:
        return self._t("marketing.engagement")

    @property
    def engagement_dlq(self) -> str:
        return self._t("marketing.engagement.dlq")

    @property
    def spend(self) -> str:
        return self._t("marketing.spend")

    @property
    def spend_dlq(self) -> str:
        return self._t("marketing.spend.dlq")

    @property
    def relay_marker(self) -> str:
        """One record the relay writes to tell a broker that lost its data from one that
        did not: an empty marker with a non-zero relay position means republish."""
        return self._t("leadflow.relay.marker")

    def events(self, aggregate_type: str) -> str:
        # Spend is not in the contract's list; its events feed the ROI projection.
        return self._t(f"leadflow.{aggregate_type.lower()}.events")

    @property
    def domain_events(self) -> list[str]:
        return [self.events(a) for a in AGGREGATE_TYPES]

    @property
    def inbound(self) -> list[str]:
        return [self.engagement, self.engagement_dlq, self.spend, self.spend_dlq]

    @property
    def all(self) -> list[str]:
        return [*self.inbound, *self.domain_events, self.relay_marker]
