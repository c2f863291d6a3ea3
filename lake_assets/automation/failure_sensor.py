"""run_failure_alert: every failed run is reported to the log, and to Slack when it is configured."""

import os

import dagster as dg
from dagster_slack import SlackResource


def failure_message(context: dg.RunFailureSensorContext) -> str:
    run = context.dagster_run
    # Dagster tags a failed run it is about to re-execute (run retries, see retry_tags)
    retry = " Dagster will retry it." if run.tags.get("dagster/will_retry") == "true" else ""
    return f"Run {run.run_id} of {run.job_name} failed: {context.failure_event.message}{retry}"


@dg.run_failure_sensor(name="run_failure_alert", default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_alert(context: dg.RunFailureSensorContext):
    message = failure_message(context)
    context.log.error(message)
    # SLACK_TOKEN and SLACK_CHANNEL: both, or no Slack. The token is read here, never logged.
    if os.environ.get("SLACK_TOKEN") and os.environ.get("SLACK_CHANNEL"):
        slack = SlackResource(token=dg.EnvVar("SLACK_TOKEN"))
        slack.get_client().chat_postMessage(channel=os.environ["SLACK_CHANNEL"], text=message)
