"""`make bench`: conform against baselines, scaling, incremental dbt and start-up, in one run.

Every figure is a median over REPS runs, measured in this run, variants interleaved; a ratio is the
median of each rep's own ratio. Each conform is a fresh child process: its seconds are the whole
process (interpreter start, imports, work, exit) timed by this runner, its peak RSS the child's own
(VmHWM, see variants.py). Inputs are made from the real green 2020-10 month in ../shared/data/tlc
(its rows repeated, see SIZES) into benchmarks/.cache/ (ignored by git). The table is printed and
written to benchmarks/results/latest.md (ignored).
    python benchmarks/run.py [--reps N] [--skip-make-run]
"""

import argparse
import gzip
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
GREEN_2020_10 = ROOT.parent / "shared" / "data" / "tlc" / "green" / "green_tripdata_2020-10.csv.gz"
PY = sys.executable
# 2x, 16x and 32x are beyond the 1/4/8x: how peak RSS grows between and past them
SIZES = (1, 2, 4, 8, 16, 32)
TRACE_SIZE = 32  # the input whose resident set is sampled over the whole run
TRACE_AT = (0.1, 0.25, 0.5, 0.75, 0.9)  # fractions of the run at which the trace is reported


def repeated_input(times: int) -> Path:
    """The real green 2020-10 rows repeated `times` times, as a gzip CSV (made once, cached)."""
    path = CACHE / f"green_tripdata_2020-10_x{times}.csv.gz"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        rows = pl.read_csv(GREEN_2020_10, infer_schema=False)
        with gzip.open(path, "wb") as f:
            pl.concat([rows] * times).write_csv(f)
    landed = Path(str(path) + ".landed.json")
    if not landed.exists():  # what the landing step records for the file: sha256 and rows
        from lake_assets.checksum import sha256_of
        from lake_assets.conform import count_raw_rows

        landed.write_text(json.dumps({"sha256": sha256_of(path), "rows": count_raw_rows(path, "csv.gz")}))
    return path


def measure(variant: str, src: Path, *flags: str) -> dict:
    """One child process: whole-process wall seconds (measured here) and the child's own peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        out = subprocess.run([PY, str(ROOT / "benchmarks" / "variants.py"), variant, str(src), f"{tmp}/out.parquet",
                              *flags], cwd=ROOT, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["inner_seconds"], result["seconds"] = result["seconds"], wall
    return result


def medians(runs: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in runs) for key in ("seconds", "inner_seconds", "peak_mib")} | {
        "rows": runs[0]["rows"]}


def bench_conform(reps: int) -> tuple[dict, dict]:
    variants = ["project", "project_recount", "pandas_course", "duckdb_copy", "polars_bare", "gunzip_only"]
    inputs = {times: repeated_input(times) for times in SIZES}
    at_8x = {v: [] for v in variants}
    scaling = {times: [] for times in inputs}
    for rep in range(reps):
        for variant in variants:  # interleaved: every variant sees the same machine load
            at_8x[variant].append(measure(variant, inputs[8]))
        for times in SIZES:
            if times != 8:
                scaling[times].append(measure("project", inputs[times]))
        print(f"  conform rep {rep + 1}/{reps} done", file=sys.stderr, flush=True)
    scaling[8] = at_8x["project"]
    # Ratios are taken within each rep, then their median: the host's speed drifts between reps
    # (10-30%), and a variant and the project measured seconds apart see the same drift.
    at_8x_medians = {v: medians(r) | {"ratio": paired_median(r, at_8x["project"], "seconds")} for v, r in at_8x.items()}
    scaling_medians = {t: medians(scaling[t]) | {"rss_ratio": paired_median(scaling[t], scaling[1], "peak_mib")}
                       for t in SIZES}
    return at_8x_medians, scaling_medians


def paired_median(runs: list[dict], baseline: list[dict], key: str) -> float:
    """The median over reps of runs[rep][key] / baseline[rep][key]."""
    return statistics.median(r[key] / b[key] for r, b in zip(runs, baseline, strict=True))


def rss_at(trace: list[list[float]], seconds: float, fraction: float) -> float:
    """The last resident-set sample taken at or before `fraction` of the run."""
    return [mib for t, mib in trace if t <= fraction * seconds][-1]


def bench_rss_trace(reps: int) -> dict[float, float]:
    """The project's conform of the largest input with its resident set sampled every 20 ms: RSS at
    each fraction of TRACE_AT of the run (medians), and "peak" for the whole run."""
    runs = [measure("project", repeated_input(TRACE_SIZE), "--trace-rss") for _ in range(reps)]
    at = {f: statistics.median(rss_at(r["rss_trace"], r["inner_seconds"], f) for r in runs) for f in TRACE_AT}
    return at | {"peak": statistics.median(r["peak_mib"] for r in runs), "rows": runs[0]["rows"]}


def _dbt(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([str(Path(PY).parent / "dbt"), *args], cwd=ROOT / "dbt_project", env=env, check=True,
                   capture_output=True, text=True)
    return time.perf_counter() - started


def bench_incremental_dbt(reps: int) -> dict[int, float]:
    """The monthly dbt models (staging, facts, the mart) for one new month (2020-11) over 1 or 24
    months of history: the real conformed green 2020-10 month copied under each history month's
    partition (real rows, re-labelled months)."""
    from dagster_duckdb import DuckDBResource

    from lake_assets.catalog import SERVICES, Month
    from lake_assets.conform import RawFile, conform_month
    from lake_assets.conformed_table import commit_month, staged_parquet_reader
    from lake_assets.lake import LocalLake
    from lake_assets.settings import load_settings
    from lake_assets.warehouse import DuckDBWarehouse

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        conformed = Path(tmp) / "green.parquet"
        conform_month(RawFile(GREEN_2020_10, "csv.gz", GREEN_2020_10.name, "green", Month(2020, 10)), conformed)
        for history in (1, 24):
            base = Path(tmp) / f"h{history}"
            lake = LocalLake(base / "lake")
            new = Month(2020, 11)
            for m in [new.shift(-i) for i in range(history, -1, -1)]:  # one commit of the table per month
                commit_month(lake, "green", m, partial(staged_parquet_reader, conformed, "green", m), {})
            settings = load_settings({"DUCKDB_PATH": str(base / "warehouse.duckdb"), "LAKE_URL": str(base / "lake"),
                                      "DUCKDB_TEMP_DIRECTORY": str(base / "duckdb_tmp")})
            warehouse = DuckDBWarehouse(duckdb=DuckDBResource(
                database=str(settings.duckdb_path), connection_config=settings.duckdb_limits.as_duckdb_config()))
            for service in SERVICES:
                warehouse.register_external_table(service, lake)
            env = {**os.environ, **settings.dbt_profile_env()}
            # run, not build: the re-labelled history repeats the same trips in every month
            _dbt(["seed", "--quiet"], env)
            _dbt(["run", "--quiet"], env)  # every model over the whole history, built once
            window = json.dumps({"min_month": "2020-11-01", "max_month": "2020-12-01"})
            times = [_dbt(["run", "--select", "tag:monthly", "--vars", window, "--quiet"], env) for _ in range(reps)]
            results[history] = statistics.median(times)
            print(f"  dbt history {history}: {results[history]:.2f} s", file=sys.stderr, flush=True)
    return results


def bench_startup(reps: int) -> float:
    """Seconds to import the code location (what `dagster dev` and every run worker do first)."""
    code = "import time; t = time.perf_counter(); import lake_assets.definitions; print(time.perf_counter() - t)"
    times = [float(subprocess.run([PY, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout)
             for _ in range(reps)]
    return statistics.median(times)


def bench_make_run(reps: int) -> tuple[float, dict[str, float]]:
    """`make run` on the sample mirror, after install, into a fresh temp lake, warehouse and Dagster
    instance each time (so the project's own .lakehouse is left alone). Returns the median wall
    seconds and the median seconds of each stage `make run` reports (its progress lines)."""
    walls, steps = [], {}
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "LAKE_URL": f"{tmp}/lake", "DUCKDB_PATH": f"{tmp}/warehouse.duckdb",
                   "DAGSTER_HOME": f"{tmp}/dagster_home", "DUCKDB_TEMP_DIRECTORY": f"{tmp}/duckdb_tmp"}
            started = time.perf_counter()
            out = subprocess.run(["make", "-s", "run"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
            walls.append(time.perf_counter() - started)
        for stage, seconds in stage_seconds(out.stdout).items():
            steps.setdefault(stage, [0.0] * reps)[len(walls) - 1] += seconds
    return statistics.median(walls), {k: statistics.median(v) for k, v in steps.items()}


STAGE_LABELS = {"lake": "land and conform", "once": "register, zones, reports", "warehouse": "monthly dbt models"}


def stage_seconds(progress: str) -> dict[str, float]:
    """Seconds per stage from materialize_all's progress lines ("[lake 1/6] label   1.2 s ...")."""
    totals: dict[str, float] = {}
    for line in progress.splitlines():
        match = re.match(r"^\[(\w+) \d+/\d+\] .*?\s((\d+) min (\d+) s|([\d.]+) s)\s", line)
        if match:
            seconds = float(match[5]) if match[5] else int(match[3]) * 60 + int(match[4])
            label = STAGE_LABELS[match[1]]
            totals[label] = totals.get(label, 0.0) + seconds
    return totals


def versions() -> str:
    import dagster
    import dbt.version
    import duckdb
    import pandas

    return (f"Python {platform.python_version()}, polars {pl.__version__}, duckdb {duckdb.__version__}, "
            f"pandas {pandas.__version__}, dagster {dagster.__version__}, dbt-core {dbt.version.__version__}; "
            f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()} {platform.release()}")


def report(reps: int, at_8x: dict, scaling: dict, trace: dict, dbt: dict, startup: float, make_run) -> str:
    p, rows = at_8x["project"], at_8x["project"]["rows"]
    lines = [f"### Results ({versions()}; medians of {reps}, {time.strftime('%Y-%m-%d')})", ""]
    size_mib = repeated_input(8).stat().st_size / 2**20
    lines += [(f"Conform of green 2020-10 x8 ({rows:,} rows, {size_mib:.1f} MiB gzip CSV); seconds are whole child "
              "processes, in-process seconds alongside; ratios are the median of each rep's own ratio, as every "
              "rep runs all variants back to back:"), ""]
    lines += ["| variant | seconds | in-process s | rows/s | peak RSS MiB | project is faster by |", "|---|---|---|---|---|---|"]
    for name, m in at_8x.items():
        lines.append(f"| {name} | {m['seconds']:.2f} | {m['inner_seconds']:.2f} | {m['rows'] / m['seconds']:,.0f} | "
                     f"{m['peak_mib']:.0f} | {m['ratio']:.2f}x |")
    lines += ["", ("Scaling of the project's conform (2x, 16x and 32x are beyond the issue's sizes: how the peak "
                   "grows between and past them):"), ""]
    lines += ["| input | rows | seconds | seconds per 1x | peak RSS MiB | RSS / 1x |", "|---|---|---|---|---|---|"]
    for times, m in scaling.items():
        lines.append(f"| {times}x | {m['rows']:,} | {m['seconds']:.2f} | {m['seconds'] / times:.3f} | "
                     f"{m['peak_mib']:.0f} | {m['rss_ratio']:.2f} |")
    lines += ["", (f"Resident set of the project's {TRACE_SIZE}x conform ({trace['rows']:,} rows) over its run, sampled every "
                   "20 ms (a streaming conform fills its buffers early, then holds steady while the rest streams through):"),
              "", "| " + " | ".join(f"at {f:.0%} of the run" for f in TRACE_AT) + " | peak |",
              "|" + "---|" * (len(TRACE_AT) + 1),
              "| " + " | ".join(f"{trace[f]:.0f} MiB" for f in TRACE_AT) + f" | {trace['peak']:.0f} MiB |"]
    checks = [
        ("conform >= 5x faster than pandas", at_8x["pandas_course"]["ratio"], 5, ">="),
        ("conform >= 1.3x faster than DuckDB COPY", at_8x["duckdb_copy"]["ratio"], 1.3, ">="),
        ("overhead over bare polars <= 25%", 1 / at_8x["polars_bare"]["ratio"] - 1, 0.25, "<="),
        ("wall time <= 4x decompression", 1 / at_8x["gunzip_only"]["ratio"], 4, "<="),
        ("peak RSS at 8x <= 200 MiB", p["peak_mib"], 200, "<="),
        ("peak RSS 8x / 1x <= 1.5", scaling[8]["rss_ratio"], 1.5, "<="),
        ("dbt monthly models, new month, 24 / 1 months of history <= 1.3", dbt[24] / dbt[1], 1.3, "<="),
        ("definitions load <= 3 s", startup, 3, "<="),
    ]
    lines += ["", "Targets:", "", "| target | measured | met |", "|---|---|---|"]
    for label, value, bound, op in checks:
        met = value >= bound if op == ">=" else value <= bound
        lines.append(f"| {label} | {value:.2f} | {'yes' if met else 'NO'} |")
    lines += ["", (f"dbt's monthly models (staging, facts, mart), one new month: {dbt[1]:.2f} s with 1 month of "
                   f"history, {dbt[24]:.2f} s with 24."),
              f"Definitions load (import of the code location): {startup:.2f} s."]
    if make_run is not None:
        wall, steps = make_run
        detail = "; ".join(f"{k} {v:.1f} s" for k, v in steps.items())
        lines.append(f"`make run` on the sample, after install: {wall:.1f} s ({detail}).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--skip-make-run", action="store_true", help="do not time `make run` (about 30 s a run)")
    args = parser.parse_args()
    reps = args.reps
    at_8x, scaling = bench_conform(reps)
    trace = bench_rss_trace(reps)
    dbt = bench_incremental_dbt(max(3, reps // 2))
    startup = bench_startup(reps)
    make_run = None if args.skip_make_run else bench_make_run(max(1, reps // 2))
    text = report(reps, at_8x, scaling, trace, dbt, startup, make_run)
    print("\n" + text)
    write_results("latest.md", text)


def write_results(name: str, text: str) -> None:
    """The report, with the command that made it, in benchmarks/results/ (ignored by git)."""
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / name).write_text(f"command: {' '.join([Path(PY).name, *sys.argv])}\n\n{text}")


if __name__ == "__main__":
    main()
