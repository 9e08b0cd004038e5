"""Things confops asks a Dagster deployment to do (as opposed to what it reads from it).

Re-executing a failed run from its failure is the one action so far. Dagster answers a refusal as
a member of the result union, or as a ``PythonError`` with HTTP 500 (shared/dagster-graphql.md
section 4f); each becomes a ``ReexecutionRefused`` whose message an operator can act on.
"""

from __future__ import annotations

from typing import Any

from monitoring.dagster.client import DagsterClient, load_query
from monitoring.dagster.errors import DagsterErrorUnion, DagsterMalformedResponse
from monitoring.models import Deployment


class ReexecutionRefused(DagsterErrorUnion):
    """Dagster answered, and did not launch the run; ``str()`` says why in plain words."""

    def __init__(self, typename: str, message: str, readable: str) -> None:
        super().__init__(typename, message)
        self.args = (readable,)

    def __str__(self) -> str:
        return str(self.args[0])


def reexecute_from_failure(
    deployment: Deployment,
    run_id: str,
    tags: dict[str, str] | None = None,
    client: DagsterClient | None = None,
) -> str:
    """Launch a re-execution of ``run_id`` from its failed steps; return the new run's id."""
    client = client or DagsterClient(deployment.graphql_url, deployment.request_headers())
    variables = {
        "parentRunId": run_id,
        "strategy": "FROM_FAILURE",
        "extraTags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
    }
    try:
        data = client.execute(load_query("reexecute"), variables)
    except DagsterErrorUnion as exc:  # PythonError, PipelineNotFoundError: raised by the client
        raise ReexecutionRefused(
            exc.typename,
            exc.message,
            readable_refusal(exc.typename, {"message": exc.message}, run_id),
        ) from exc
    result = data.get("launchRunReexecution")
    if not isinstance(result, dict):
        raise DagsterMalformedResponse(f"launchRunReexecution is not an object: {result!r}")
    typename = str(result.get("__typename", ""))
    if typename == "LaunchRunSuccess":
        return str(result["run"]["runId"])
    raise ReexecutionRefused(
        typename, str(result.get("message", "")), readable_refusal(typename, result, run_id)
    )


def readable_refusal(typename: str, result: dict[str, Any], run_id: str) -> str:
    """What went wrong, in the words an operator needs, with Dagster's own message kept."""
    message = str(result.get("message") or "").strip()
    first_line = message.splitlines()[0] if message else ""
    if typename == "PythonError":
        if "not failed or canceled" in message:
            return (
                f"Run {run_id} did not fail, so there is nothing to re-execute from a failure "
                "(Dagster only re-executes failed or canceled runs)."
            )
        if "Could not find parent run" in message:
            return f"Dagster does not know run {run_id} (deleted, or on another instance?)."
        return f"Dagster failed to re-execute run {run_id}: {first_line}"
    if typename == "RunConfigValidationInvalid":
        errors = "; ".join(str(e.get("message", "")) for e in result.get("errors") or [])
        return f"Dagster rejected the run's configuration: {errors}"
    if typename == "InvalidStepError":
        return f"Step {result.get('invalidStepKey')} of run {run_id} is no longer in the job."
    if typename == "InvalidOutputError":
        return (
            f"Output {result.get('invalidOutputName')} of step {result.get('stepKey')} "
            "is no longer in the job."
        )
    if typename == "PipelineNotFoundError":
        return f"The job of run {run_id} is no longer in Dagster's workspace: {first_line}"
    if typename == "UnauthorizedError":
        return f"Dagster does not allow confops to launch runs: {first_line}"
    return f"Dagster refused to re-execute run {run_id} ({typename}): {first_line}"
