"""One conform of one input, in this process, by one variant; prints seconds, rows and peak RSS as JSON.

Run by benchmarks/run.py in a fresh child process per measurement. Peak RSS is VmHWM, the high-water
mark of this process's own memory since exec: ru_maxrss would not do, as Linux carries the parent's
high-water mark into a child across exec (a runner that built a big input inflates every child).
    python benchmarks/variants.py VARIANT INPUT.csv.gz OUTPUT.parquet [--trace-rss]
With --trace-rss, a thread also samples the resident set (VmRSS) every 20 ms: how memory evolves over
the run, which a peak alone does not say.
"""

import gzip
import json
import re
import sys
import threading
import time
from pathlib import Path

GREEN_DATETIMES = ["lpep_pickup_datetime", "lpep_dropoff_datetime"]
GREEN_INTS = ["VendorID", "RatecodeID", "PULocationID", "DOLocationID", "passenger_count", "payment_type", "trip_type"]
GREEN_FLOATS = ["trip_distance", "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "ehail_fee",
                "improvement_surcharge", "total_amount", "congestion_surcharge"]


def project(src: Path, out: Path) -> int:
    """The conformed asset's own code path: sha256, conform, row-count check against the count the
    landing step recorded for these bytes (passed in, as the asset reads it from the instance), stats."""
    from lake_assets.catalog import Month
    from lake_assets.conform import RawFile, conform_month

    landed = json.loads(Path(str(src) + ".landed.json").read_text())
    report, _, _ = conform_month(RawFile(src, "csv.gz", src.name, "green", Month(2020, 10)), out,
                                 landed=(landed["sha256"], landed["rows"]))
    return report.rows


def project_recount(src: Path, out: Path) -> int:
    """The same, when no landing count is recorded: the raw file is parsed a second time to count it."""
    from lake_assets.catalog import Month
    from lake_assets.conform import RawFile, conform_month

    report, _, _ = conform_month(RawFile(src, "csv.gz", src.name, "green", Month(2020, 10)), out)
    return report.rows


def pandas_course(src: Path, out: Path) -> int:
    """The course's way (DataTalksClub data-engineering-zoomcamp, 03-data-warehouse/extras/web_to_gcs.py:
    `pd.read_csv(file, compression='gzip')` then `df.to_parquet(file, engine='pyarrow')`), with the dtype
    fixes of its week-2 flows (`pd.to_datetime` on the pickup/dropoff columns) and nullable ints for ids."""
    import warnings

    import pandas as pd

    warnings.simplefilter("ignore")  # read_csv's DtypeWarning on store_and_fwd_flag (mixed types)
    df = pd.read_csv(src, compression="gzip")
    for column in GREEN_DATETIMES:
        df[column] = pd.to_datetime(df[column])
    for column in GREEN_INTS:
        df[column] = df[column].astype("Int64")
    for column in GREEN_FLOATS:
        df[column] = df[column].astype("float64")
    df.to_parquet(out, engine="pyarrow")
    return len(df)


def duckdb_copy(src: Path, out: Path) -> int:
    """DuckDB COPY (SELECT ... casts ...) TO parquet."""
    import duckdb

    casts = [f"cast({c} as timestamp) as {c}" for c in GREEN_DATETIMES]
    casts += [f"cast(cast({c} as double) as bigint) as {c}" for c in GREEN_INTS]
    casts += [f"cast({c} as double) as {c}" for c in GREEN_FLOATS] + ["store_and_fwd_flag"]
    with duckdb.connect() as conn:
        conn.execute("SET threads = 2")
        conn.execute(f"COPY (SELECT {', '.join(casts)} FROM read_csv('{src}', all_varchar = true)) "
                     f"TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
        return conn.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]


def polars_bare(src: Path, out: Path) -> int:
    """A bare polars conform: scan_csv -> sink_parquet, nothing else."""
    import polars as pl

    pl.scan_csv(src).sink_parquet(out)
    return pl.scan_parquet(out).select(pl.len()).collect().item()


def gunzip_only(src: Path, out: Path) -> int:
    """Reading and discarding the decompressed stream: the floor for any conform of a gzip CSV."""
    lines = 0
    with gzip.open(src, "rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines - 1


def _vm_mib(field: str) -> float:
    return int(re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024


def trace_rss(samples: list[tuple[float, float]], started: float, stop: threading.Event) -> None:
    while not stop.wait(0.02):
        samples.append((time.perf_counter() - started, _vm_mib("VmRSS")))


VARIANTS = {f.__name__: f for f in (project, project_recount, pandas_course, duckdb_copy, polars_bare, gunzip_only)}

if __name__ == "__main__":
    name, src, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    started = time.perf_counter()
    if "--trace-rss" in sys.argv[4:]:
        threading.Thread(target=trace_rss, args=(samples, started, stop), daemon=True).start()
    rows = VARIANTS[name](src, out)
    seconds = time.perf_counter() - started
    stop.set()
    result = {"variant": name, "seconds": seconds, "rows": rows, "peak_mib": _vm_mib("VmHWM")}
    print(json.dumps(result | ({"rss_trace": samples} if samples else {})))
