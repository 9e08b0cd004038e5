"""Create an API token from a script: the token goes to stdout, once; the rest to stderr.

A token acts for a person (`--owner`): it stops working when they are deactivated or deleted.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from confops.accounts.choices import TokenScope
from confops.accounts.models import ApiToken, pushable_sources


class Command(BaseCommand):
    help = (
        "Create an API token, e.g. `create_api_token temporal-ingest --owner ada --scope push "
        "--source temporal-ingest`. Prints the token once: store it now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who or what uses the token, e.g. the job's name")
        parser.add_argument(
            "--owner",
            required=True,
            metavar="USERNAME",
            help="The active user the token acts for (changes are audited as them); the token "
            "stops working when they are deactivated or deleted.",
        )
        parser.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            required=True,
            choices=TokenScope.values,
            help="Repeat for several; a job that reports runs needs only 'push'.",
        )
        parser.add_argument(
            "--source",
            dest="sources",
            action="append",
            default=[],
            metavar="SLUG",
            help="A pushed source the token may report for; repeat for several; without any: "
            "all pushed sources, including those added later.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        owner = active_user(options["owner"])
        sources = pushed_sources(options["sources"]) if options["sources"] else None
        with transaction.atomic():
            token, raw = ApiToken.issue(
                options["name"], sorted(set(options["scopes"])), owner, sources=sources
            )
        allowed = ", ".join(s.slug for s in sources) if sources else "all pushed sources"
        self.stderr.write(
            f"Created token {token} with scopes {', '.join(token.scopes)} for {allowed}. "
            "It is printed once, on stdout: store it now, it cannot be shown again."
        )
        self.stdout.write(raw)


def active_user(username: str) -> Any:
    owner = get_user_model().objects.filter(username=username, is_active=True).first()
    if owner is None:
        raise CommandError(f"No active user named {username!r}: a token acts for one.")
    return owner


def pushed_sources(slugs: list[str]) -> list[Any]:
    found = {s.slug: s for s in pushable_sources().filter(slug__in=slugs)}
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise CommandError(f"No pushed source with slug: {', '.join(missing)}")
    return [found[slug] for slug in dict.fromkeys(slugs)]
