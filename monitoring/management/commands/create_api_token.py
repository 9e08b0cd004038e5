"""Create an API token from a script: the token goes to stdout, once; the rest to stderr."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from monitoring.choices import SourceKind, TokenScope
from monitoring.models import ApiToken, Source


class Command(BaseCommand):
    help = (
        "Create an API token, e.g. `create_api_token temporal-ingest --scope push "
        "--source temporal-ingest`. Prints the token once: store it now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who or what uses the token, e.g. the job's name")
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
            help="A pushed source the token may report for; repeat for several; none: all.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sources = pushed_sources(options["sources"])
        with transaction.atomic():
            token, raw = ApiToken.issue(options["name"], sorted(set(options["scopes"])))
            token.sources.set(sources)
        allowed = ", ".join(s.slug for s in sources) or "all pushed sources"
        self.stderr.write(
            f"Created token {token} with scopes {', '.join(token.scopes)} for {allowed}. "
            "It is printed once, on stdout: store it now, it cannot be shown again."
        )
        self.stdout.write(raw)


def pushed_sources(slugs: list[str]) -> list[Source]:
    found = {
        s.slug: s
        for s in Source.objects.filter(
            slug__in=slugs, kind=SourceKind.PUSHED, deployment__isnull=True
        )
    }
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise CommandError(f"No pushed source with slug: {', '.join(missing)}")
    return [found[slug] for slug in dict.fromkeys(slugs)]
