"""Every monthly model and its tests, compiled for BigQuery with a three-month window, read their months
and nothing more: each scan of an external table carries a predicate on the bare hive partition columns
(`year = Y and month in (...)`) and each scan of a partitioned table one on `source_month` against
literal dates, as a conjunct of the scan's WHERE, restricting it to exactly those months. BigQuery
bills by the bytes a query reads and prunes only on such predicates (the emulator does not prune, so
this is checked on the SQL itself). A monthly model added later without them fails here.

Compiled without months (a plain `dbt build`), every model and test that reads a table requiring a
partition filter (require_partition_filter, dbt_project/macros/monthly_incremental.sql) still names
its months, all of them: BigQuery would refuse it otherwise, and the emulator does not."""

import json
import subprocess
from datetime import date

import pytest
import sqlglot
from sqlglot import exp

from lake_assets.settings import PROJECT_ROOT
from tests.gcp.bigquery_recorder import reads_without_partition_filter
from tests.gcp.conftest import PROJECT

pytestmark = pytest.mark.gcp

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
WINDOW = ("2020-11-01", "2021-02-01")
MONTHS = {(2020, 11), (2020, 12), (2021, 1)}
# Reads of a whole partitioned table that are the design: the marts are rebuilt in every run from the
# per-source-month sums (a few hundred rows a month), so that a run costs the same however long the
# history (README.md, "How data flows").
WHOLE_READS = {
    "dm_monthly_zone_revenue": {"int_zone_revenue_by_source_month"},
    "dm_monthly_fhvhv_zone_revenue": {"int_fhvhv_zone_revenue_by_source_month"},
}
# The tables that require a partition filter on BigQuery: staging and the facts, read month by month. Not
# the per-source-month sums, which the marts read whole in every run (WHOLE_READS).
REQUIRE_PARTITION_FILTER = {"stg_green_tripdata", "stg_yellow_tripdata", "stg_fhv_tripdata", "stg_fhvhv_tripdata",
                            "fact_trips", "fact_fhv_trips", "fact_fhvhv_trips"}


def _literal_date(node: exp.Expression) -> date | None:
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        return date.fromisoformat(node.this.name)
    return None


def _conjuncts(where: exp.Where | None) -> list[exp.Expression]:
    if where is None:
        return []
    condition = where.this.unnest()
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def _lake_months(condition: exp.Expression) -> set[tuple[int, int]] | None:
    """The (year, month) pairs `(year = Y and month in (...)) or ...` allows, or None if it is not that."""
    months = set()
    terms = condition.unnest().flatten() if isinstance(condition.unnest(), exp.Or) else [condition]
    for term in terms:
        parts = list(term.unnest().flatten()) if isinstance(term.unnest(), exp.And) else [term]
        year = next((int(p.expression.name) for p in parts if isinstance(p, exp.EQ)
                     and isinstance(p.this, exp.Column) and p.this.name == "year"), None)
        in_months = next((p for p in parts if isinstance(p, exp.In) and isinstance(p.this, exp.Column)
                          and p.this.name == "month"), None)
        if year is None or in_months is None:
            return None
        months |= {(year, int(m.name)) for m in in_months.expressions}
    return months


def _source_month_window(conjuncts: list[exp.Expression]) -> tuple[date | None, date | None]:
    low = high = None
    for condition in conjuncts:
        if isinstance(condition, (exp.GTE, exp.LT)) and isinstance(condition.this, exp.Column) \
                and condition.this.name == "source_month":
            value = _literal_date(condition.expression)
            low, high = (value, high) if isinstance(condition, exp.GTE) else (low, value)
    return low, high


def scans_without_pruning(sql: str, partitioned: dict[str, str], whole_reads: set[str]) -> list[str]:
    """The partitioned tables a query reads without a predicate restricting them to the window."""
    unpruned = []
    for select in sqlglot.parse_one(sql, dialect="bigquery").find_all(exp.Select):
        # sqlglot 28 keys the FROM clause "from_"
        sources = [select.args.get("from_") or select.args.get("from"), *(select.args.get("joins") or [])]
        tables = [s.this for s in sources if s is not None and isinstance(s.this, exp.Table) and s.this.db]
        conjuncts = _conjuncts(select.args.get("where"))
        for table in tables:
            kind = partitioned.get(table.name)
            if kind is None or table.name in whole_reads:
                continue
            if kind == "hive":
                pruned = any(_lake_months(c) == MONTHS for c in conjuncts)
            else:
                pruned = _source_month_window(conjuncts) == tuple(date.fromisoformat(d) for d in WINDOW)
            if not pruned:
                unpruned.append(table.name)
    return unpruned


def compile_for_bigquery(emulator, venv_env, target, select: list[str], months: dict[str, str]) -> dict:
    """`dbt compile` for the emulator target (BigQuery SQL); its manifest, with each node's compiled_code."""
    env = {**venv_env, "DBT_TARGET": "emulator", "BIGQUERY_EMULATOR_URL": emulator.url,
           "GCP_PROJECT": PROJECT, "BQ_DATASET": "lake", **months}
    done = subprocess.run(["dbt", "compile", *select, "--target", "emulator",
                           "--target-path", str(target), "--log-path", str(target)],
                          cwd=DBT_PROJECT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-4000:]
    return json.loads((target / "manifest.json").read_text())


def test_every_monthly_model_reads_only_the_months_of_its_run_on_bigquery(bigquery_emulator, venv_env, tmp_path):
    manifest = compile_for_bigquery(bigquery_emulator, venv_env, tmp_path / "target", ["--select", "tag:monthly"],
                                    {"LAKEHOUSE_MIN_MONTH": WINDOW[0], "LAKEHOUSE_MAX_MONTH": WINDOW[1]})
    partitioned = {s["name"]: "hive" for s in manifest["sources"].values()}
    partitioned |= {n["alias"]: "source_month" for n in manifest["nodes"].values()
                    if n["resource_type"] == "model" and (n["config"].get("partition_by") or {}).get("field")
                    == "source_month"}
    assert {"ext_green_tripdata", "stg_green_tripdata", "fact_trips", "int_zone_revenue_by_source_month"} \
        <= set(partitioned)
    monthly = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and "monthly" in n["tags"]]
    assert len(monthly) >= 10
    # and the data tests of the monthly models, which the month runs build with them
    ids = {n["unique_id"] for n in monthly}
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"
             and ids & set(n["depends_on"]["nodes"]) and n.get("compiled_code")]
    assert len(tests) >= 40
    unpruned = {}
    for node in monthly + tests:
        missed = scans_without_pruning(node["compiled_code"], partitioned, WHOLE_READS.get(node["name"], set()))
        if missed:
            unpruned[node["name"]] = missed
    assert unpruned == {}, f"scans that BigQuery would read whole (every month, billed): {unpruned}"


def test_every_read_of_a_table_requiring_a_partition_filter_has_one_in_a_run_of_every_month(
    bigquery_emulator, venv_env, tmp_path
):
    manifest = compile_for_bigquery(bigquery_emulator, venv_env, tmp_path / "target", [], {})
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    required = {n["alias"] for n in models if n["config"].get("require_partition_filter")}
    assert required == REQUIRE_PARTITION_FILTER
    compiled = [n for n in manifest["nodes"].values() if n.get("compiled_code") is not None]
    assert {n["resource_type"] for n in compiled} == {"model", "test"} and len(compiled) >= 60
    refused = {n["name"]: missed for n in compiled
               if (missed := reads_without_partition_filter(n["compiled_code"], required))}
    assert refused == {}, f"reads that BigQuery would refuse (no filter on source_month): {refused}"


def test_the_check_finds_a_scan_without_its_months():
    partitioned = {"ext_green_tripdata": "hive", "stg_green_tripdata": "source_month"}
    unfiltered = "select * from `local`.`lake`.`ext_green_tripdata` where date(year, month, 1) >= date '2020-11-01'"
    assert scans_without_pruning(unfiltered, partitioned, set()) == ["ext_green_tripdata"]
    one_month_short = ("select * from `local`.`lake`.`ext_green_tripdata` "
                       "where (year = 2020 and month in (11, 12))")
    assert scans_without_pruning(one_month_short, partitioned, set()) == ["ext_green_tripdata"]
    pruned = ("select * from `local`.`lake`.`ext_green_tripdata` "
              "where (year = 2020 and month in (11, 12)) or (year = 2021 and month in (1))")
    assert scans_without_pruning(pruned, partitioned, set()) == []
    staged = ("select * from `local`.`staging`.`stg_green_tripdata` "
              "where source_month >= date '2020-11-01' and source_month < date '2021-02-01'")
    assert scans_without_pruning(staged, partitioned, set()) == []
    assert scans_without_pruning(staged.replace("date '2021-02-01'", "date '2021-03-01'"), partitioned, set()) \
        == ["stg_green_tripdata"]


def test_the_required_filter_check_finds_a_read_bigquery_would_refuse():
    required = {"stg_green_tripdata", "fact_trips"}
    table = "`local`.`staging`.`stg_green_tripdata`"
    assert reads_without_partition_filter(f"select count(*) from {table}", required) == ["stg_green_tripdata"]
    assert reads_without_partition_filter(f"select * from (select * from {table} where true) s", required) \
        == ["stg_green_tripdata"]
    # on the column inside a function, or beside another condition in an OR: no partition elimination
    assert reads_without_partition_filter(
        f"select * from {table} where date_trunc(source_month, month) = date '2020-10-01'", required) \
        == ["stg_green_tripdata"]
    assert reads_without_partition_filter(
        f"select * from {table} t where t.source_month >= date '2020-10-01' or t.trip_id is null", required) \
        == ["stg_green_tripdata"]
    assert reads_without_partition_filter(
        f"select * from (select * from {table} where source_month >= date '1900-01-01') s", required) == []
    assert reads_without_partition_filter(
        f"select count(*) from {table} where `source_month` >= DATE '1900-01-01'", required) == []
    merge = ("merge into `local`.`core`.`fact_trips` as DBT_INTERNAL_DEST using (select 1 as a) as DBT_INTERNAL_SOURCE "
             "on FALSE when not matched by source and date_trunc(DBT_INTERNAL_DEST.source_month, month) in "
             "(date '2020-10-01') {} then delete when not matched then insert (a) values (a)")
    assert reads_without_partition_filter(merge.format(""), required) == ["fact_trips"]
    assert reads_without_partition_filter(merge.format(
        "and DBT_INTERNAL_DEST.source_month >= date '2020-10-01' and DBT_INTERNAL_DEST.source_month < date "
        "'2020-11-01'"), required) == []
