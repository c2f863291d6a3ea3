"""`make run`: materialize the whole graph for every month the source holds, then print a summary.

Runs go through Dagster (execute_in_process on the code location's own job, recorded in the
instance at DAGSTER_HOME when set, so `make dev` shows them): one run per service and month for the
lake, then the unpartitioned warehouse assets, fact_trips over the range of months, and the marts.
"""

import argparse
import os
import sys
import time

import dagster as dg
import polars as pl

from lake_assets.catalog import SERVICES, CatalogError, Month
from lake_assets.lake import conformed_prefix
from lake_assets.resources import build_resources
from lake_assets.settings import SettingsError, load_settings
from lake_assets.source import TlcSource

MONTHLY_MODELS = dg.AssetKey("fact_trips")
SUMMARY_TABLES = ("core.fact_trips", "core.fact_fhv_trips", "core.fact_fhvhv_trips", "marts.dm_monthly_zone_revenue",
                  "marts.dm_monthly_fhvhv_zone_revenue")


def _instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def _execute(job: dg.JobDefinition, instance, label: str, keys, **kwargs) -> None:
    started = time.monotonic()
    print(f"==> {label}", flush=True)
    result = job.execute_in_process(instance=instance, asset_selection=list(keys), raise_on_error=False, **kwargs)
    if not result.success:
        failures = [e.message for e in result.all_events if e.is_failure]
        print(f"FAILED: {label}\n  " + "\n  ".join(failures), file=sys.stderr)
        raise SystemExit(1)
    print(f"    done in {time.monotonic() - started:.1f} s", flush=True)


def months_to_load(source: TlcSource, services: list[str], months: list[Month] | None) -> dict[str, list[Month]]:
    if months:
        return {s: months for s in services}
    if not source.url_template.startswith("file://"):
        raise SystemExit("an http(s) source cannot be listed: name the months to load with --month YYYY-MM.")
    return {s: source.list_months(s) for s in services}


def print_summary(settings) -> None:
    resources = build_resources(settings)
    lake = resources["lake"].get_lake()
    print("\nRows in the lake (conformed), per service and month:")
    for service in SERVICES:
        for key in lake.list(conformed_prefix(service)):
            with lake.local_copy(key) as path:
                rows = pl.scan_parquet(path).select(pl.len()).collect().item()
            month = "-".join(part.split("=")[1] for part in key.split("/")[2:4])
            print(f"  {service:<7} {month}  {rows:>9,}")
    print("\nRows in the warehouse:")
    for table in SUMMARY_TABLES:
        print(f"  {table:<32} {resources['warehouse'].query(f'select count(*) from {table}')[0][0]:>9,}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--service", action="append", choices=SERVICES, help="services to load (default: all)")
    parser.add_argument("--month", action="append",
                        help="months YYYY-MM to load (default: every month a file:// source holds)")
    args = parser.parse_args(argv)
    try:
        months = [Month.parse(m) for m in args.month] if args.month else None
        settings = load_settings()
    except (CatalogError, SettingsError) as exc:
        parser.error(str(exc))
    services = args.service or list(SERVICES)
    plan = months_to_load(TlcSource(settings.tlc_source_url), services, months)
    # Imported once the settings are known good: the module builds its `defs` on import.
    from lake_assets.definitions import build_definitions

    defs = build_definitions(settings)
    job = defs.resolve_implicit_global_asset_job_def()
    graph = defs.resolve_asset_graph()
    instance = _instance()

    loaded = []
    for service in services:
        for month in plan[service]:
            keys = [dg.AssetKey(f"raw_{service}_tripdata"), dg.AssetKey(f"{service}_tripdata")]
            _execute(job, instance, f"land and conform {service} {month}", keys, partition_key=month.key)
            loaded.append(month)
    if not loaded:
        raise SystemExit(f"the source {settings.tlc_source_url} holds no month for {', '.join(services)}.")

    unpartitioned = {k for k in graph.materializable_asset_keys if not graph.get(k).is_partitioned}
    after = dg.AssetSelection.assets(MONTHLY_MODELS).downstream().resolve(graph)
    before = unpartitioned - after
    _execute(job, instance, "register the lake and build staging", before)
    first, last = min(loaded), max(loaded)
    _execute(job, instance, f"build fact_trips for {first}..{last}", [MONTHLY_MODELS],
             tags={"dagster/asset_partition_range_start": first.key, "dagster/asset_partition_range_end": last.key})
    _execute(job, instance, "build the marts", unpartitioned & after)
    print_summary(settings)


if __name__ == "__main__":
    main()
