"""The status page's filters, read from and written back to the URL's query string."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlencode

from monitoring.choices import TimelineWindow

# The deployment filter's value for sources that report over HTTP (they have no deployment).
PUSHED = "-"


@dataclass(frozen=True)
class StatusFilters:
    """``deployment`` (a name, or ``-`` for pushed sources), ``group``, ``tag`` (``key=value``
    or just ``key``), ``owner`` (the operator-set owner or one of Dagster's owners), and the
    timeline ``window``. At fleet size (``alerts.pages.status``) ``open`` names the collapsed
    deployment to expand and ``page`` the page of deployments: neither narrows the sources, and
    both stay in the URL the page refreshes itself from."""

    deployment: str = ""
    group: str = ""
    tag: str = ""
    owner: str = ""
    window: str = TimelineWindow.DAY
    open: str = ""
    page: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> StatusFilters:
        values = {f.name: str(query.get(f.name) or "").strip()[:255] for f in fields(cls)}
        if values["window"] not in TimelineWindow.values:
            values["window"] = TimelineWindow.DAY
        if not values["page"].isdigit() or int(values["page"]) <= 1:
            values["page"] = ""
        return cls(**values)

    @property
    def page_number(self) -> int:
        return int(self.page or 1)

    @property
    def active(self) -> bool:
        """Whether any filter narrows the sources (the window does not)."""
        return any((self.deployment, self.group, self.tag, self.owner))

    def query_string(self, **changes: str) -> str:
        """The canonical query string (empty values and the default window left out)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        if values["window"] == TimelineWindow.DAY:
            values["window"] = ""
        if values["page"] == "1":
            values["page"] = ""
        return urlencode({k: v for k, v in values.items() if v})

    def matches(
        self,
        deployment_name: str | None,
        group: str,
        tags: Mapping[str, Any],
        owner: str,
        dagster_owners: Iterable[str],
    ) -> bool:
        if self.deployment and self.deployment != (deployment_name or PUSHED):
            return False
        if self.group and self.group != group:
            return False
        if self.tag and not tag_matches(self.tag, tags):
            return False
        return not self.owner or owner_matches([self.owner], [owner, *dagster_owners])


def owner_name(owner: str) -> str:
    """An owner as compared: Dagster declares a team ``team:ingestion`` but its GraphQL answers
    a TeamAssetOwner with the bare team name ``ingestion`` (and an operator may write either), so
    the ``team:`` prefix is dropped on both sides."""
    owner = owner.strip()
    return owner.removeprefix("team:").strip()


def owner_matches(wanted: Iterable[str], owners: Iterable[str]) -> bool:
    """Whether one of ``owners`` is one of ``wanted``: the status page's owner filter and a
    channel's route owners read owners alike."""
    names = {owner_name(o) for o in owners} - {""}
    return bool(names & {owner_name(w) for w in wanted})


def tag_matches(spec: str, tags: Mapping[str, Any]) -> bool:
    """``key`` matches a source with that tag, ``key=value`` one with that value: the status
    page's tag filter and a channel's route tags read a tag alike."""
    key, sep, value = spec.partition("=")
    key = key.strip()
    return key in tags and (not sep or str(tags[key]) == value.strip())
