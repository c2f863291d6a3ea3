"""How fresh fact_trips and the marts should be, from the TLC's publication lag, in Dagster's freshness API.

The TLC publishes a month TLC_PUBLICATION_LAG_MONTHS months after it began; the monthly schedules ask for
it on the 15th at 06:00 New York (automation.schedules.INGEST_CRON). A day later it is late:

- `fact_trips` (monthly partitions ending at the current month minus the lag) carries a time-partition
  freshness check: from the 16th, 06:00 New York, it fails while the newest month that is due has not
  been built. `freshness_check_sensor` runs it (the daemon), and any run that builds fact_trips runs it too.
- `fact_trips`, the marts and the charts carry a FreshnessPolicy: rebuilt between the 1st of the month
  (when the newest month becomes due) and the 16th, 06:00 New York. The UI shows it on the asset's page.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import dagster as dg

from lake_assets.asset_keys import FACT_TRIPS, MART_CHARTS, SERVICE_REVENUE_MART, ZONE_REVENUE_MART

FRESHNESS_TIMEZONE = "America/New_York"
# A day after the monthly ingest schedules (the 15th, 06:00 New York).
DEADLINE_CRON = "0 6 16 * *"
# From the 1st, 00:00 to the 16th, 06:00: a rebuild after the newest month became due.
SINCE_MONTH_START = timedelta(days=15, hours=6)
FRESH_ASSETS = (FACT_TRIPS, ZONE_REVENUE_MART, SERVICE_REVENUE_MART, MART_CHARTS)


def freshness_policy() -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.cron(deadline_cron=DEADLINE_CRON, lower_bound_delta=SINCE_MONTH_START,
                                   timezone=FRESHNESS_TIMEZONE)


def freshness_text(publication_lag_months: int) -> str:
    return (
        f"A month is due {publication_lag_months} months after it began (TLC_PUBLICATION_LAG_MONTHS) and late "
        "from the 16th of that month, 06:00 New York, a day after the monthly ingest schedules. "
        "fact_trips' freshness_check names the month that is late."
    )


def declare_freshness(assets: list[dg.AssetsDefinition], publication_lag_months: int) -> list[dg.AssetsDefinition]:
    """The assets, those of FRESH_ASSETS with the freshness policy and what it means in words."""

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.key not in FRESH_ASSETS:
            return spec
        spec = dg.apply_freshness_policy(spec, freshness_policy())
        return spec.merge_attributes(metadata={"freshness": freshness_text(publication_lag_months)})

    return [a.map_asset_specs(apply) if set(FRESH_ASSETS) & set(a.keys) else a for a in assets]


def newest_month_checks() -> list[dg.AssetChecksDefinition]:
    """Fails from the deadline while the newest partition of fact_trips that is due has not been built."""
    # Dagster marks freshness checks superseded by FreshnessPolicy, which is evaluated per asset, not per
    # partition: only the check knows which month is missing.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return list(dg.build_time_partition_freshness_checks(
            assets=[FACT_TRIPS], deadline_cron=DEADLINE_CRON, timezone=FRESHNESS_TIMEZONE,
        ))


def freshness_sensor(checks: list[dg.AssetChecksDefinition], interval_seconds: int) -> dg.SensorDefinition:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, minimum_interval_seconds=interval_seconds,
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
