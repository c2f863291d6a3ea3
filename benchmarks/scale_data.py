"""Full-size yellow months for the scale benchmark, made from the real yellow samples in ../shared.

The 36 real samples (2018-01 .. 2020-12, 10,000 real trips each) hold 360,000 trips. A full-size month
YYYY-MM is made from them as follows, deterministically:
- the TLC column names are restored (mapping in ../shared/data/tlc/README.md);
- every trip is moved into month YYYY-MM: same day of month (clamped to the month's length), same
  time of day, same duration; every other column as published;
- the 360,000 trips are repeated until the month holds `rows` trips, copy k shifted by k seconds,
  so that no two rows are identical (exact duplicates would change what the de-duplication keeps);
  rows that are still identical after that are dropped before the cut to `rows`;
- written in the official Parquet layout of the TLC's yellow files: int64 ids, DOUBLE passenger_count
  and RatecodeID, microsecond timestamps, an all-null airport_fee.
Made once into benchmarks/.cache/scale/ (ignored by git).
"""

from __future__ import annotations

import calendar
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.make_sample_mirror import YELLOW_SAMPLE_TO_TLC  # the TLC names of the samples' header

SHARED_YELLOW = ROOT.parent / "shared" / "data" / "tlc" / "yellow_samples"
SCALE_CACHE = ROOT / "benchmarks" / ".cache" / "scale"

FLOATS = ("passenger_count", "RatecodeID", "trip_distance", "fare_amount", "extra", "mta_tax", "tip_amount",
          "tolls_amount", "improvement_surcharge", "total_amount", "congestion_surcharge")
INTS = ("VendorID", "PULocationID", "DOLocationID", "payment_type")


def real_yellow_trips() -> pl.DataFrame:
    """Every real trip of the 36 samples, typed as the official Parquet files type them."""
    frames = [pl.read_csv(path, infer_schema=False) for path in sorted(SHARED_YELLOW.glob("*.csv"))]
    trips = pl.concat(frames).rename(YELLOW_SAMPLE_TO_TLC)
    return trips.with_columns(
        *[pl.col(c).cast(pl.Float64) for c in FLOATS],
        *[pl.col(c).cast(pl.Int64) for c in INTS],
        *[pl.col(c).str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us")
          for c in ("tpep_pickup_datetime", "tpep_dropoff_datetime")],
    )


def full_size_month(trips: pl.DataFrame, year: int, month: int, rows: int) -> pl.DataFrame:
    """`rows` distinct trips in month year-month, made from the real trips as the module says."""
    last_day = calendar.monthrange(year, month)[1]
    pickup, dropoff = pl.col("tpep_pickup_datetime"), pl.col("tpep_dropoff_datetime")
    moved = trips.with_columns(
        pl.datetime(year, month, pl.min_horizontal(pickup.dt.day(), pl.lit(last_day)), time_unit="us").alias("_day"),
        (dropoff - pickup).alias("_duration"),
        (pickup - pickup.dt.truncate("1d")).alias("_time_of_day"),
    ).with_columns(
        (pl.col("_day") + pl.col("_time_of_day")).alias("tpep_pickup_datetime"),
    ).with_columns(
        (pickup + pl.col("_duration")).alias("tpep_dropoff_datetime"),
    ).drop("_day", "_duration", "_time_of_day")
    copies = -(-rows // moved.height) + 1  # one spare copy covers rows dropped as identical
    shifted = pl.concat([
        moved.with_columns(
            (pickup + pl.duration(seconds=k)).alias("tpep_pickup_datetime"),
            (dropoff + pl.duration(seconds=k)).alias("tpep_dropoff_datetime"),
        )
        for k in range(copies)
    ])
    return (
        shifted.unique(maintain_order=True)
        .head(rows)
        .with_columns(pl.lit(None, dtype=pl.Float64).alias("airport_fee"))
    )


def yellow_months(months: list[str], rows: int) -> list[Path]:
    """The files yellow_tripdata_YYYY-MM.parquet of `months` with `rows` trips each, made once into
    SCALE_CACHE/yellow_<rows>/ (a file:// mirror folder)."""
    folder = SCALE_CACHE / f"yellow_{rows}"
    paths = [folder / f"yellow_tripdata_{month}.parquet" for month in months]
    missing = [p for p in paths if not p.exists()]
    if missing:
        folder.mkdir(parents=True, exist_ok=True)
        trips = real_yellow_trips()
        for path in missing:
            year, month = (int(part) for part in path.stem.split("_")[-1].split("-"))
            tmp = path.with_suffix(".tmp")
            full_size_month(trips, year, month, rows).write_parquet(tmp, compression="zstd", row_group_size=1_000_000)
            tmp.rename(path)
    return paths


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    for p in yellow_months([f"2022-{m:02d}" for m in range(1, 13)] + ["2023-01"], 3_000_000):
        print(p, pl.scan_parquet(p).select(pl.len()).collect().item())
    print(f"{time.perf_counter() - started:.1f} s")
