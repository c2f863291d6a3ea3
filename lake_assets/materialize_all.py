"""`make run`: materialize the whole graph for every month the source holds, then print a summary.

Runs go through Dagster (execute_in_process on the code location's own job, recorded in the
instance at DAGSTER_HOME when set, so `make dev` shows them, with every event): one run per service
and month for the lake, then the unpartitioned warehouse assets, then the monthly dbt models
(staging, facts, the marts) in batches of consecutive months, at most DBT_MONTHS_PER_RUN a run, as a
backfill runs them (one dbt invocation per batch: its fixed cost is paid once per batch, and memory
stays bounded by DuckDB's limit and spill), then what reads the marts.

The console shows one line per run: what it did, its rows and rows/s, and what is left. Dagster's
events go to the instance and dbt's output to a log file (LOG_FILE), not to the console (`--verbose`
prints both there instead); a failure prints its errors, the run id and where the log is.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from lake_assets.asset_keys import (
    FACT_TRIPS,
    FHV_FACT_TRIPS,
    FHVHV_FACT_TRIPS,
    FHVHV_ZONE_REVENUE_MART,
    ZONE_REVENUE_MART,
    conformed_asset_key,
    lake_asset_keys,
)
from lake_assets.automation.conditions import MONTHLY_MODELS
from lake_assets.catalog import SERVICES, CatalogError, Month, check_partition
from lake_assets.definitions import build_definitions
from lake_assets.lake_counts import conformed_months
from lake_assets.project import model_table
from lake_assets.resources import build_resources
from lake_assets.settings import PROJECT_ROOT, SettingsError, load_settings
from lake_assets.source import TlcSource

SUMMARY_MODELS = (FACT_TRIPS, FHV_FACT_TRIPS, FHVHV_FACT_TRIPS, ZONE_REVENUE_MART, FHVHV_ZONE_REVENUE_MART)
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
LOG_FILE = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".lakehouse") / "materialize_all.log"


def _instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


@dataclass
class Progress:
    """Counts the runs of a stage and prints one line per run, with what is left of the stage."""

    stage: str
    total: int
    done: int = 0
    seconds: list[float] = field(default_factory=list)

    def line(self, label: str, seconds: float, rows: int | None) -> str:
        self.done += 1
        self.seconds.append(seconds)
        left = self.total - self.done
        rate = f"{rows:>12,} rows {rows / seconds:>11,.0f} rows/s" if rows is not None and seconds > 0 else " " * 36
        eta = f"{left} left, ~{_duration(left * sum(self.seconds) / len(self.seconds))}" if left else "stage done"
        width = len(str(self.total))
        return f"[{self.stage} {self.done:>{width}}/{self.total}] {label:<34} {_duration(seconds):>10} {rate}  {eta}"


def _rows_materialized(result: dg.ExecuteInProcessResult, keys) -> int | None:
    """The dagster/row_count of the first of `keys` that reported one in this run."""
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key in keys and "dagster/row_count" in materialization.metadata:
            return materialization.metadata["dagster/row_count"].value
    return None


def _execute(job: dg.JobDefinition, instance, keys, verbose: bool, **kwargs) -> tuple[dg.ExecuteInProcessResult, float]:
    started = time.monotonic()
    # dagster-dbt writes dbt's own output to stdout: into the log file unless --verbose.
    with contextlib.ExitStack() as stack:
        if not verbose:
            stack.enter_context(contextlib.redirect_stdout(stack.enter_context(LOG_FILE.open("a"))))
        result = job.execute_in_process(instance=instance, asset_selection=list(keys), raise_on_error=False,
                                        run_config={} if verbose else QUIET_CONSOLE, **kwargs)
    seconds = time.monotonic() - started
    if not result.success:
        failures = [e.message for e in result.all_events if e.is_failure]
        print(f"FAILED (run {result.run_id}; dbt's output is in {LOG_FILE}):\n  " + "\n  ".join(failures),
              file=sys.stderr)
        raise SystemExit(1)
    return result, seconds


def months_to_load(source: TlcSource, services: list[str], months: list[Month] | None) -> dict[str, list[Month]]:
    if months:
        return {s: months for s in services}
    if not source.url_template.startswith("file://"):
        raise SystemExit("an http(s) source cannot be listed: name the months to load with --month YYYY-MM.")
    return {s: source.list_months(s) for s in services}


def print_summary(settings, instance: dg.DagsterInstance) -> None:
    resources = build_resources(settings)
    lake = resources["lake"].get_lake()
    print("\nRows in the lake (conformed), per service and month:")
    for service in SERVICES:
        for month, files in conformed_months(lake, service).items():  # a versioned table: from its log
            print(f"  {service:<7} {month}  {files.rows:>9,}")
    # As counted when each was last built (its dagster/row_count): no query, which on BigQuery would have
    # to name the months of a fact table (they require a partition filter) and be billed for it.
    print("\nRows in the warehouse:")
    for key in SUMMARY_MODELS:
        rows = instance.get_latest_materialization_event(key).asset_materialization.metadata["dagster/row_count"]
        print(f"  {model_table(key):<32} {rows.value:>9,}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", action="append", choices=SERVICES, help="services to load (default: all)")
    parser.add_argument("--month", action="append",
                        help="months YYYY-MM to load (default: every month a file:// source holds)")
    parser.add_argument("--verbose", action="store_true", help="print Dagster's events on the console too")
    args = parser.parse_args(argv)
    try:
        months = [Month.parse(m) for m in args.month] if args.month else None
        settings = load_settings()
    except (CatalogError, SettingsError) as exc:
        parser.error(str(exc))
    services = args.service or list(SERVICES)
    plan = months_to_load(TlcSource(settings.tlc_source_url), services, months)
    # Every month against its service's partitions before the first run. Months named with --month
    # are refused together; a month a mirror holds out of range is left out, and said.
    refused = []
    for service in services:
        kept = []
        for month in plan[service]:
            try:
                kept.append(check_partition(service, month, settings.publication_lag_months))
            except CatalogError as exc:
                refused.append(str(exc))
        plan[service] = kept
    if refused and months:
        parser.error(" ".join(refused) + ("" if args.service else " Choose the services with --service."))
    for message in refused:
        print(f"left out: {message}", file=sys.stderr)
    defs = build_definitions(settings)
    job = defs.resolve_implicit_global_asset_job_def()
    graph = defs.resolve_asset_graph()
    instance = _instance()
    started = time.monotonic()
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)

    lake_runs = [(service, month) for service in services for month in plan[service]]
    if not lake_runs:
        raise SystemExit(f"the source {settings.tlc_source_url} holds no month for {', '.join(services)}.")
    progress = Progress("lake", len(lake_runs))
    rows_by_month: dict[Month, int] = {}
    for service, month in lake_runs:
        result, seconds = _execute(job, instance, lake_asset_keys(service), args.verbose, partition_key=month.key)
        rows = _rows_materialized(result, [conformed_asset_key(service)])
        rows_by_month[month] = rows_by_month.get(month, 0) + (rows or 0)
        print(progress.line(f"land and conform {service} {month}", seconds, rows), flush=True)

    runs = RunPlan.of(graph)
    _, seconds = _execute(job, instance, runs.before, args.verbose)
    print(progress_once("register the lake, build the zones", seconds), flush=True)

    batches = month_batches(sorted(rows_by_month), settings.dbt_months_per_run)
    progress = Progress("warehouse", len(batches))
    for batch in batches:
        _, seconds = _execute(job, instance, runs.monthly, args.verbose, tags=partition_range_tags(batch))
        months = f"{batch[0]}" if len(batch) == 1 else f"{batch[0]}..{batch[-1]}"
        print(progress.line(f"staging, facts, marts {months}", seconds, sum(rows_by_month[m] for m in batch)),
              flush=True)

    if runs.after:
        _, seconds = _execute(job, instance, runs.after, args.verbose)
        print(progress_once("reports", seconds), flush=True)
    print(f"whole run: {_duration(time.monotonic() - started)}; dbt's output is in {LOG_FILE}"
          + ("; every event is in the Dagster instance (`make dev`, Runs)" if os.environ.get("DAGSTER_HOME") else ""))
    print_summary(settings, instance)


@dataclass(frozen=True)
class RunPlan:
    """What the runs after the lake's (one per service and month) materialize, in order: the unpartitioned
    assets the monthly models read (the external tables, the zones), the monthly models (in batches of
    months), then the unpartitioned assets that read them (the reports). Tests run the graph in this order too."""

    before: set[dg.AssetKey]
    monthly: set[dg.AssetKey]
    after: set[dg.AssetKey]

    @classmethod
    def of(cls, graph) -> RunPlan:
        monthly = MONTHLY_MODELS.resolve(graph)
        unpartitioned = {k for k in graph.materializable_asset_keys if not graph.get(k).is_partitioned}
        after = dg.AssetSelection.assets(*monthly).downstream().resolve(graph) & unpartitioned
        return cls(before=unpartitioned - after, monthly=monthly, after=after)


def month_batches(months: list[Month], months_per_run: int) -> list[list[Month]]:
    """The sorted months in runs of consecutive months, at most `months_per_run` each: a run builds the
    partition range from its first to its last month, so a gap starts a new batch (the months between
    hold nothing to build)."""
    batches: list[list[Month]] = []
    for month in months:
        if batches and len(batches[-1]) < months_per_run and batches[-1][-1].shift(1) == month:
            batches[-1].append(month)
        else:
            batches.append([month])
    return batches


def partition_range_tags(batch: list[Month]) -> dict[str, str]:
    """A run of the partitions from the batch's first month to its last, as a backfill launches it."""
    return {ASSET_PARTITION_RANGE_START_TAG: batch[0].key, ASSET_PARTITION_RANGE_END_TAG: batch[-1].key}


def progress_once(label: str, seconds: float) -> str:
    return Progress("once", 1).line(label, seconds, None)


if __name__ == "__main__":
    main()
