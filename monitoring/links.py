"""Links into a deployment's Dagster UI for a source (runs use ``Deployment.run_url``)."""

from __future__ import annotations

from urllib.parse import quote

from monitoring.choices import SourceKind

# Dagster's UI writes a repository's address as "repo@location", or just "location" for the
# implicit repository of a Definitions object.
IMPLICIT_REPOSITORY = "__repository__"


def dagster_source_url(
    ui_url: str, kind: str, key: str, repository: str = "", code_location: str = ""
) -> str:
    """The asset's or job's page in Dagster, or "" when there is none to link to."""
    if not ui_url:
        return ""
    base = ui_url.rstrip("/")
    if kind == SourceKind.ASSET:
        return f"{base}/assets/{quote(key, safe='/')}"
    if kind == SourceKind.JOB and code_location:
        address = (
            code_location
            if repository in ("", IMPLICIT_REPOSITORY)
            else f"{repository}@{code_location}"
        )
        return f"{base}/locations/{quote(address, safe='@')}/jobs/{quote(key, safe='')}"
    return ""
