"""Declarative automation: what brings each downstream asset up to date, without a hand-written job.

- the external tables are registered when missing and again when a conformed month was updated;
- staging views and the zone tables are built when missing (they read the lake live) and after
  their code changes;
- the monthly dbt models (staging, facts, the mart) rebuild exactly the months whose conformed
  partition was updated (staging depends on it month to month, see assets/dbt.py), and no others:
  a change to the zones does not rebuild every month of history;
- the charts (mart_charts) rebuild when anything upstream was updated.
Nothing runs while an upstream asset is running, and nothing waits for months that do not exist.
"""

import dagster as dg

from lake_assets.graph_names import CONFORMED_GROUP, MONTHLY_TAG, RAW_GROUP

# The monthly dbt models carry the dbt tag `monthly`, which dagster-dbt makes an asset tag.
MONTHLY_MODELS = dg.AssetSelection.tag(MONTHLY_TAG, "")
MONTHLY_ASSETS = dg.AssetSelection.groups(CONFORMED_GROUP) | MONTHLY_MODELS
# Partitioned upstreams: a month that was never published is "missing" but must not block anything.
PARTITIONED_ASSETS = dg.AssetSelection.groups(RAW_GROUP, CONFORMED_GROUP) | MONTHLY_MODELS


def _not_busy() -> dg.AutomationCondition:
    return ~dg.AutomationCondition.in_progress() & ~dg.AutomationCondition.any_deps_in_progress()


def _deps_exist() -> dg.AutomationCondition:
    return ~dg.AutomationCondition.any_deps_missing().ignore(PARTITIONED_ASSETS)


def on_missing_or_conformed_update() -> dg.AutomationCondition:
    """The external tables: registered when missing, re-registered when a conformed month changed."""
    return (
        (dg.AutomationCondition.missing() | dg.AutomationCondition.any_deps_updated().since_last_handled())
        & _not_busy()
    ).with_label("on_missing_or_conformed_update")


def on_missing_or_code_change() -> dg.AutomationCondition:
    """Views and small reference tables: built when missing and when their code changes."""
    return (
        (dg.AutomationCondition.missing() | dg.AutomationCondition.code_version_changed().since_last_handled())
        & _deps_exist()
        & _not_busy()
    ).with_label("on_missing_or_code_change")


def on_upstream_update() -> dg.AutomationCondition:
    """Unpartitioned assets over many months (the charts): rebuilt once something upstream has been
    updated. Not in the tick that requests the upstream: that is another run (a month's), which
    nothing would make run first."""
    updated = dg.AutomationCondition.any_deps_match(dg.AutomationCondition.newly_updated())
    return (updated.since_last_handled() & _deps_exist() & _not_busy()).with_label("on_upstream_update")


def on_lake_month_update() -> dg.AutomationCondition:
    """A month of a monthly model: rebuilt when that month of a conformed asset or of a monthly
    model it reads was updated (or is requested in the same tick), once the models it reads exist
    (a service that has no file for the month is not waited for)."""
    return (
        dg.AutomationCondition.any_deps_updated().allow(MONTHLY_ASSETS).since_last_handled()
        & _deps_exist()
        & _not_busy()
    ).with_label("on_lake_month_update")
