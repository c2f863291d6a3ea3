"""Declarative automation: what brings each downstream asset up to date, without a hand-written job.

- the external tables and the marts rebuild when anything upstream was updated;
- staging views and the zone tables are built once (they read the lake live) and after code changes;
- fact_trips rebuilds exactly the months whose conformed green or yellow partition was updated
  (it depends on them month to month, see assets/dbt.py), fact_fhv_trips when FHV was updated.
"""

import dagster as dg

# Conformed partitions a fact table reads month by month.
CONFORMED_ASSETS = dg.AssetSelection.groups("conformed")


def _not_busy() -> dg.AutomationCondition:
    return ~dg.AutomationCondition.in_progress() & ~dg.AutomationCondition.any_deps_in_progress()


def on_upstream_update() -> dg.AutomationCondition:
    """Unpartitioned assets over many partitions: run when missing or when any upstream updated."""
    return (
        (dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()).since_last_handled()
        & _not_busy()
    ).with_label("on_upstream_update")


def on_missing_or_code_change() -> dg.AutomationCondition:
    """Views and small reference tables: built when missing and when their code changes."""
    return (
        (dg.AutomationCondition.newly_missing() | dg.AutomationCondition.code_version_changed()).since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & _not_busy()
    ).with_label("on_missing_or_code_change")


def on_conformed_month_update() -> dg.AutomationCondition:
    """A fact partition: run when its month's conformed partition was updated, once the models it
    reads exist (a service that has no file for the month is not waited for)."""
    return (
        dg.AutomationCondition.any_deps_updated().allow(CONFORMED_ASSETS).since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing().ignore(CONFORMED_ASSETS)
        & _not_busy()
    ).with_label("on_conformed_month_update")
