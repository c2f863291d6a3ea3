"""`make bench-scale`: the lakehouse at real size, against one DuckDB statement doing the same work.

In one run, on this machine:
1. twelve full-size yellow months (3,000,000 trips each, made from the real yellow samples: see
   scale_data.py) go through the project's own entry point, `python -m lake_assets.materialize_all
   --service yellow`, from a file:// mirror into a fresh lake, warehouse and Dagster instance. Every
   process of the run (the entry point, each dbt) has its resident set sampled every 100 ms; the wall
   time of each stage comes from the Dagster instance (step start and end) and from dbt's
   run_results.json (each model and test);
2. the yardstick: one DuckDB process that reads the same twelve published files and does the same
   work in one statement (typed columns, the md5 trip key over every trip column, de-duplication
   within a month, both zone joins) and then the mart, under the same DuckDB limits as the project;
   both must agree on the fact rows and the sum of total_amount;
3. the incremental promise: a thirteenth month landed on top of the twelve, against the same month
   landed on top of one month of history (fresh lakehouse), each through the entry point;
4. the conform of one 20,000,000-trip month, its peak resident set sampled.
The report goes to stdout and benchmarks/results/scale.md (ignored by git).
    python benchmarks/scale.py [--months N] [--rows N] [--skip-yardstick] [--skip-big-conform]
DBT_MONTHS_PER_RUN in the environment sets the batch (the project's setting; 1: a dbt run per month).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import write_results
from benchmarks.scale_data import SCALE_CACHE, yellow_months
from lake_assets.settings import load_settings

PY = sys.executable
ZONES = ROOT / "dbt_project" / "seeds" / "taxi_zone_lookup.csv"
SAMPLE_SECONDS = 0.1


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _process_kind(pid: int) -> str:
    try:
        argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    for marker, kind in (("/dbt ", "dbt"), ("materialize_all", "entry point (Dagster, polars, DuckDB)"),
                         ("yardstick", "yardstick (DuckDB)"), ("conform_big", "conform")):
        if marker in text + " ":
            return kind
    return Path(argv[0].decode(errors="replace")).name or "?"


def _hwm_mib(pid: int) -> float | None:
    try:
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_sampled(cmd: list[str], env: dict, label: str) -> dict:
    """Runs cmd; returns wall seconds, stdout, and the peak resident set of each kind of process in
    its tree (the largest VmHWM seen of any one process of that kind)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    peaks: dict[str, float] = {}
    while proc.poll() is None:
        for pid in _descendants(proc.pid):
            mib = _hwm_mib(pid)
            if mib is not None:
                kind = _process_kind(pid)
                peaks[kind] = max(peaks.get(kind, 0.0), mib)
        time.sleep(SAMPLE_SECONDS)
    reader.join()
    wall = time.perf_counter() - started
    out = "".join(lines)
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed ({proc.returncode}):\n{out[-5000:]}")
    print(f"  {label}: {wall:.1f} s", file=sys.stderr, flush=True)
    return {"seconds": wall, "stdout": out, "peaks": peaks}


def project_env(home: Path, mirror: Path, months_per_run: int | None = None) -> dict:
    (home / "dagster_home").mkdir(parents=True, exist_ok=True)
    batch = {"DBT_MONTHS_PER_RUN": str(months_per_run)} if months_per_run else {}
    return {**os.environ, **batch, "LAKE_URL": str(home / "lake"), "DUCKDB_PATH": str(home / "warehouse.duckdb"),
            "DAGSTER_HOME": str(home / "dagster_home"), "DUCKDB_TEMP_DIRECTORY": str(home / "duckdb_tmp"),
            "TLC_SOURCE_URL": mirror.as_uri() + "/{service}_tripdata_{year}-{month}.parquet"}


def run_project(home: Path, mirror: Path, months: list[str], label: str, months_per_run: int | None = None) -> dict:
    cmd = [PY, "-m", "lake_assets.materialize_all", "--service", "yellow", *[f"--month={m}" for m in months]]
    since = time.time()
    result = run_sampled(cmd, project_env(home, mirror, months_per_run), label)
    steps = step_times(home / "dagster_home", since)
    result["steps"] = step_seconds(steps)
    result["dbt"] = dbt_node_seconds(since)
    result["fixed_costs"] = fixed_costs(steps)
    return result


def step_times(dagster_home: Path, since: float) -> list[tuple[str, str, float]]:
    """(run id's first 7 characters, step key, seconds) of every step recorded in the instance since `since`."""
    code = (
        "import json, sys, dagster as dg\n"
        "inst = dg.DagsterInstance.get()\n"
        "out = []\n"
        "for run in inst.get_runs():\n"
        "    for s in inst.get_run_step_stats(run.run_id):\n"
        "        if s.start_time and s.end_time and s.start_time >= float(sys.argv[1]):\n"
        "            out.append([run.run_id[:7], s.step_key, s.end_time - s.start_time])\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([PY, "-c", code, str(since)], env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
                          capture_output=True, text=True, check=True)
    return [tuple(step) for step in json.loads(done.stdout.strip().splitlines()[-1])]


def step_seconds(steps: list[tuple[str, str, float]]) -> dict[str, float]:
    """Seconds per step key, summed over the runs."""
    totals: dict[str, float] = {}
    for _, key, seconds in steps:
        totals[key] = totals.get(key, 0.0) + seconds
    return totals


def fixed_costs(steps: list[tuple[str, str, float]]) -> list[float]:
    """Per monthly dbt run: its step's wall time minus dbt's own "Finished running ... in"
    (run_results.json's elapsed_time), what a run costs beyond its work."""
    costs = []
    for run_id, key, seconds in steps:
        if key != "dbt_monthly_models":
            continue
        for path in (ROOT / "dbt_project" / "target" / "runs").glob(f"*/dbt_monthly_models-{run_id}-*/run_results.json"):
            costs.append(seconds - json.loads(path.read_text())["elapsed_time"])
    return costs


def dbt_node_seconds(since: float) -> dict[str, float]:
    """dbt's own execution time of each model and test, summed over the invocations since `since`
    (dagster-dbt gives each invocation its own target folder)."""
    totals: dict[str, float] = {}
    for path in (ROOT / "dbt_project" / "target" / "runs").glob("*/*/run_results.json"):
        if path.stat().st_mtime < since:
            continue
        for node in json.loads(path.read_text())["results"]:
            kind, _, name = node["unique_id"].split(".", 2)
            key = f"{kind} {name.rsplit('.', 1)[0] if kind == 'test' else name}"
            totals[key] = totals.get(key, 0.0) + node["execution_time"]
    return totals


def yardstick_sql(files: list[Path], limits) -> str:
    trip_columns = ["VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "store_and_fwd_flag", "RatecodeID",
                    "PULocationID", "DOLocationID", "passenger_count", "trip_distance", "fare_amount", "extra",
                    "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge", "total_amount", "payment_type",
                    "congestion_surcharge", "airport_fee"]
    key = "md5(concat(" + ", '|', ".join(f"coalesce(cast({c} as varchar), '~')" for c in trip_columns) + "))"
    file_list = ", ".join(f"'{f}'" for f in files)
    return f"""
SET memory_limit = '{limits.memory_limit}'; SET threads = {limits.threads}; SET temp_directory = '{limits.temp_directory}';
CREATE TABLE zones AS SELECT * FROM read_csv('{ZONES}', header = true) WHERE Borough != 'Unknown';
CREATE TABLE fact_trips AS
WITH typed AS (
    SELECT {key} AS trip_id,
        cast(VendorID AS bigint) AS vendor_id, try_cast(RatecodeID AS bigint) AS ratecode_id,
        cast(PULocationID AS bigint) AS pickup_location_id, cast(DOLocationID AS bigint) AS dropoff_location_id,
        cast(tpep_pickup_datetime AS timestamp) AS pickup_datetime,
        cast(tpep_dropoff_datetime AS timestamp) AS dropoff_datetime, store_and_fwd_flag,
        try_cast(passenger_count AS bigint) AS passenger_count, cast(trip_distance AS double) AS trip_distance,
        cast(fare_amount AS double) AS fare_amount, cast(extra AS double) AS extra, cast(mta_tax AS double) AS mta_tax,
        cast(tip_amount AS double) AS tip_amount, cast(tolls_amount AS double) AS tolls_amount,
        cast(improvement_surcharge AS double) AS improvement_surcharge, cast(total_amount AS double) AS total_amount,
        try_cast(payment_type AS bigint) AS payment_type,
        make_date(cast(regexp_extract(filename, '_(\\d{{4}})-', 1) AS integer),
                  cast(regexp_extract(filename, '-(\\d{{2}})\\.parquet', 1) AS integer), 1) AS source_month
    FROM read_parquet([{file_list}], filename = true)
),
trips AS (
    SELECT * FROM typed QUALIFY row_number() OVER (PARTITION BY source_month, trip_id ORDER BY pickup_datetime) = 1
)
SELECT trips.*, 'Yellow' AS service_type, pu.Borough AS pickup_borough, pu.Zone AS pickup_zone,
       dz.Borough AS dropoff_borough, dz.Zone AS dropoff_zone
FROM trips
JOIN zones pu ON trips.pickup_location_id = pu.LocationID
JOIN zones dz ON trips.dropoff_location_id = dz.LocationID;
CREATE TABLE dm_monthly_zone_revenue AS
SELECT pickup_zone AS revenue_zone, cast(date_trunc('month', pickup_datetime) AS date) AS revenue_month, service_type,
       sum(fare_amount), sum(extra), sum(mta_tax), sum(tip_amount), sum(tolls_amount), sum(improvement_surcharge),
       sum(total_amount), count(trip_id), avg(passenger_count), avg(trip_distance)
FROM fact_trips GROUP BY 1, 2, 3;
"""


def run_yardstick(files: list[Path], work: Path) -> dict:
    limits = load_settings({"DUCKDB_TEMP_DIRECTORY": str(work / "yardstick_tmp")}).duckdb_limits
    script = work / "yardstick.sql"
    script.write_text(yardstick_sql(files, limits))
    db = work / "yardstick.duckdb"
    code = (
        "import duckdb, json, sys  # yardstick\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute(open(sys.argv[2]).read())\n"
        "print(json.dumps(con.execute('select count(*), sum(total_amount) from fact_trips').fetchone()))\n"
    )
    result = run_sampled([PY, "-c", code, str(db), str(script)], dict(os.environ), "yardstick (one DuckDB statement)")
    result["fact_rows"], result["total_amount"] = json.loads(result["stdout"].strip().splitlines()[-1])
    return result


def warehouse_figures(home: Path) -> tuple[int, float]:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute("select count(*), sum(total_amount) from core.fact_trips").fetchone()


def big_months(rows: int) -> list[Path]:
    """One month of `rows` trips of yellow (scale_data's generator) and of fhvhv (the made-up
    published layout of data/make_sample_mirror.py, times and zones of real green trips)."""
    yellow = yellow_months(["2024-01"], rows)[0]
    fhvhv = SCALE_CACHE / f"fhvhv_{rows}" / "fhvhv_tripdata_2023-01.parquet"
    if not fhvhv.exists():
        fhvhv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([PY, str(ROOT / "data" / "make_sample_mirror.py"), "--fhvhv", "2023-01", str(rows), "published",
                        str(fhvhv)], cwd=ROOT, check=True)
    return [yellow, fhvhv]


def run_big_conform(path: Path) -> dict:
    """The project's conform of one big month file, as the conformed asset runs it."""
    code = (
        "import json, sys, tempfile, time  # conform_big\n"
        "from pathlib import Path\n"
        "from lake_assets.catalog import Month, parse_file_name\n"
        "from lake_assets.conform import RawFile, conform_month\n"
        "src = Path(sys.argv[1])\n"
        "service, month, ext = parse_file_name(src.name)\n"
        "with tempfile.TemporaryDirectory() as tmp:\n"
        "    t = time.perf_counter()\n"
        "    report, raw_rows, _ = conform_month(RawFile(src, ext, src.name, service, month), Path(tmp) / 'out.parquet')\n"
        "    print(json.dumps({'rows': report.rows, 'seconds': time.perf_counter() - t}))\n"
    )
    result = run_sampled([PY, "-c", code, str(path)], dict(os.environ), f"conform of {path.name}")
    result.update(json.loads(result["stdout"].strip().splitlines()[-1]))
    result["file"] = path.name
    return result


def _table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(str(v) for v in row) + " |" for row in rows]


def batch_rows(label: str, run: dict) -> list:
    costs = sorted(run["fixed_costs"]) or [0.0]
    return [label, len(run["fixed_costs"]), f"{run['seconds']:.1f}", f"{run['steps'].get('dbt_monthly_models', 0):.1f}",
            f"{costs[len(costs) // 2]:.1f}", f"{max(run['peaks'].values()):,.0f}"]


def report(months: list[str], rows: int, project: dict, yardstick: dict | None, figures, incremental, big,
           baseline: dict | None = None, baseline_k: int = 1) -> str:
    title = (f"### Scale: {len(months)} yellow months x {rows:,} trips ({time.strftime('%Y-%m-%d %H:%M')}, "
             f"{os.cpu_count()} cores)")
    lines = [title, ""]
    steps = project["steps"]
    stage_rows = [
        ["landing (raw_yellow_tripdata, all months)", f"{steps.get('raw_yellow_tripdata', 0):.1f}"],
        ["conform (yellow_tripdata, all months)", f"{steps.get('yellow_tripdata', 0):.1f}"],
        ["registration (ext_yellow_tripdata)", f"{steps.get('ext_yellow_tripdata', 0):.1f}"],
        ["seeds and dim_zones (dbt_models)", f"{steps.get('dbt_models', 0):.1f}"],
        ["monthly dbt runs (dbt_monthly_models, all months)", f"{steps.get('dbt_monthly_models', 0):.1f}"],
        ["charts (mart_charts)", f"{steps.get('mart_charts', 0):.1f}"],
        ["whole entry point (wall)", f"{project['seconds']:.1f}"],
    ]
    lines += ["Wall seconds per stage (Dagster step times, summed over the runs):", ""]
    lines += _table(["stage", "seconds"], stage_rows)
    dbt = sorted(project["dbt"].items(), key=lambda kv: -kv[1])
    lines += ["", "dbt's own time per node, summed over the monthly runs (2 dbt threads: tests overlap):", ""]
    lines += _table(["node", "seconds"], [[k, f"{v:.1f}"] for k, v in dbt])
    model_total = sum(v for k, v in dbt if k.startswith("model"))
    test_total = sum(v for k, v in dbt if k.startswith("test"))
    lines += ["", f"Models {model_total:.1f} s, tests {test_total:.1f} s in all.", ""]
    peak_rows = [[kind, f"{mib:,.0f}"] for kind, mib in sorted(project["peaks"].items(), key=lambda kv: -kv[1])]
    if yardstick:
        peak_rows += [[f"{k} (yardstick)", f"{v:,.0f}"] for k, v in yardstick["peaks"].items()]
    lines += ["Peak resident set of each kind of process (MiB, the largest of any one process):", ""]
    lines += _table(["process", "peak MiB"], peak_rows)
    costs = sorted(project["fixed_costs"])
    if costs:
        lines += ["", (f"Monthly dbt runs: {len(costs)} (DBT_MONTHS_PER_RUN={os.environ.get('DBT_MONTHS_PER_RUN', 'default')}); "
                       f"fixed cost per run (step wall time minus dbt's own elapsed time): median "
                       f"{costs[len(costs) // 2]:.1f} s, max {costs[-1]:.1f} s.")]
    if baseline:
        lines += ["", "Batches against a dbt run per month, in the same run of this benchmark:", ""]
        lines += _table(["DBT_MONTHS_PER_RUN", "dbt runs", "whole entry point s", "monthly dbt steps s",
                         "fixed cost per run s (median)", "peak MiB (largest process)"],
                        [batch_rows(str(baseline_k), baseline),
                         batch_rows(os.environ.get("DBT_MONTHS_PER_RUN", "default"), project)])
    fact_rows, total = figures
    lines += ["", f"Project: fact_trips {fact_rows:,} rows, sum(total_amount) {total:,.2f}."]
    if yardstick:
        ratio = project["seconds"] / yardstick["seconds"]
        # float sums in another order differ in the last digits only
        agree = fact_rows == yardstick["fact_rows"] and abs(total - yardstick["total_amount"]) <= 1e-9 * abs(total)
        lines += [(f"Yardstick: {yardstick['seconds']:.1f} s, fact_trips {yardstick['fact_rows']:,} rows, "
                   f"sum(total_amount) {yardstick['total_amount']:,.2f}: {'the same' if agree else 'DIFFERENT'}."),
                  f"Project / yardstick: {ratio:.2f}x."]
    if incremental:
        one, twelve = incremental
        lines += ["", (f"A new month on 1 month of history: {one:.1f} s; on {len(months)} months: {twelve:.1f} s; "
                       f"ratio {twelve / one:.2f}.")]
    for conform in big:
        lines += ["", (f"Conform of {conform['file']} ({conform['rows']:,} trips): {conform['seconds']:.1f} s, peak "
                       f"{max(conform['peaks'].values()):,.0f} MiB.")]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--big-rows", type=int, default=20_000_000)
    parser.add_argument("--skip-yardstick", action="store_true")
    parser.add_argument("--skip-incremental", action="store_true")
    parser.add_argument("--skip-big-conform", action="store_true")
    parser.add_argument("--baseline-months-per-run", type=int, default=1,
                        help="also run the twelve months with this DBT_MONTHS_PER_RUN, to compare (0: skip)")
    args = parser.parse_args()
    history = [f"{2022 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}" for m in range(1, args.months + 1)]
    new_month = f"{2022 + args.months // 12}-{args.months % 12 + 1:02d}"
    files = yellow_months([*history, new_month], args.rows)
    mirror = files[0].parent
    with tempfile.TemporaryDirectory(dir=SCALE_CACHE) as tmp:
        work = Path(tmp)
        baseline = None
        if args.baseline_months_per_run:
            baseline = run_project(work / "baseline", mirror, history,
                                   f"project, {len(history)} months, {args.baseline_months_per_run} a run",
                                   months_per_run=args.baseline_months_per_run)
        project = run_project(work / "full", mirror, history, f"project, {len(history)} months")
        figures = warehouse_figures(work / "full")
        yardstick = None if args.skip_yardstick else run_yardstick(files[:-1], work)
        incremental = None
        if not args.skip_incremental:
            twelve = run_project(work / "full", mirror, [new_month], f"new month on {len(history)} months")["seconds"]
            run_project(work / "one", mirror, [history[-1]], "one month of history")
            one = run_project(work / "one", mirror, [new_month], "new month on 1 month")["seconds"]
            incremental = (one, twelve)
        big = [] if args.skip_big_conform else [run_big_conform(path) for path in big_months(args.big_rows)]
    text = report(history, args.rows, project, yardstick, figures, incremental, big, baseline,
                  args.baseline_months_per_run)
    print("\n" + text)
    write_results("scale.md", text)


if __name__ == "__main__":
    main()
