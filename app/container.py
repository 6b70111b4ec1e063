"""The composition root: builds the store, policies and use cases from settings."""

from __future__ import annotations

from dataclasses import dataclass

from leadflow.application.accounts import AccountMatcher, ManageAccounts
from leadflow.application.commands import CommandRunner
from leadflow.application.contacts import ManageContacts
from leadflow.application.conversion import ConvertLead
from leadflow.application.engagement import RecordEngagement
from leadflow.application.erasure import ErasePerson
from leadflow.application.leads import ManageLeads
from leadflow.application.opportunities import CloseOpportunity
from leadflow.application.people import PeopleIndex
from leadflow.application.spend import RecordSpend
from leadflow.config import LeadflowConfig, load_config
from leadflow.infra.store import Store
from leadflow.settings import Settings


@dataclass
class Leadflow:
    settings: Settings
    config: LeadflowConfig
    store: Store
    people: PeopleIndex
    engagement: RecordEngagement
    spend: RecordSpend
    leads: ManageLeads
    conversion: ConvertLead
    opportunities: CloseOpportunity
    contacts: ManageContacts
    accounts: ManageAccounts
    erasure: ErasePerson

    @property
    def currency(self) -> str:
        return self.settings.currency or self.config.currency

    def close(self) -> None:
        self.store.close()


def build(
    settings: Settings | None = None,
    config: LeadflowConfig | None = None,
    *,
    sole_writer_cache: bool = False,
) -> Leadflow:
    """`sole_writer_cache` only for the engagement consumer (see Store)."""
    settings = settings or Settings.from_env()
    config = config or load_config(settings.config_path)
    store = Store(settings.database, sole_writer_cache=sole_writer_cache)
    people = PeopleIndex(store.side)
    runner = CommandRunner(store)
    matcher = AccountMatcher(store)
    return Leadflow(
        settings=settings,
        config=config,
        store=store,
        people=people,
        engagement=RecordEngagement(
            store, people, config.scoring_policy(), config.assignment_policy()
        ),
        spend=RecordSpend(store),
        leads=ManageLeads(store, runner),
        conversion=ConvertLead(store, runner, people, matcher),
        opportunities=CloseOpportunity(store, runner),
        contacts=ManageContacts(store, runner, people, matcher),
        accounts=ManageAccounts(store, runner),
        erasure=ErasePerson(store, runner, people),
    )
