"""Declarative automation: what brings each downstream asset up to date, without a hand-written job.

- the external tables are registered when missing and again when a conformed month was updated;
- staging views and the zone tables are built when missing (they read the lake live) and after
  their code changes;
- fact_trips rebuilds exactly the months whose conformed green or yellow partition was updated
  (it depends on them month to month, see assets/dbt.py);
- fact_fhv_trips, the marts and the report rebuild when anything upstream was updated.
Nothing runs while an upstream asset is running, and nothing waits for months that do not exist.
"""

import dagster as dg

CONFORMED_ASSETS = dg.AssetSelection.groups("conformed")
# Partitioned upstreams: a month that was never published is "missing" but must not block anything.
PARTITIONED_ASSETS = dg.AssetSelection.groups("raw", "conformed") | dg.AssetSelection.assets("fact_trips")


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
    """Unpartitioned tables over many months: rebuilt after anything upstream was updated."""
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled() & _deps_exist() & _not_busy()
    ).with_label("on_upstream_update")


def on_conformed_month_update() -> dg.AutomationCondition:
    """A fact_trips month: rebuilt when that month's conformed partition was updated, once the
    models it reads exist (a service that has no file for the month is not waited for)."""
    return (
        dg.AutomationCondition.any_deps_updated().allow(CONFORMED_ASSETS).since_last_handled()
        & _deps_exist()
        & _not_busy()
    ).with_label("on_conformed_month_update")
