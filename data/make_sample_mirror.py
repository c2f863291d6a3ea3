"""Derives the small sample mirror shipped in data/tlc_sample/ from the real TLC files in ../shared.

Run from the project root: `python data/make_sample_mirror.py [SHARED_TLC_DIR]`. Deterministic: the
same inputs give the same files. What each file is, and how it was made:

- green/green_tripdata_2020-10.csv.gz: every 20th line of the real community-mirror file, bytes
  unchanged (so `.79`-style numbers and empty `ehail_fee` stay as published).
- green/green_tripdata_2023-12.parquet: every 20th row of the real official Parquet file, with its
  published types (timestamp[us], Int32 ids).
- yellow/yellow_tripdata_2020-{10,11}.csv.gz: the first 2,000 rows of the real 10,000-row yellow
  samples, with the header restored to the TLC names (mapping in ../shared/data/tlc/README.md).
- yellow/yellow_tripdata_2020-12.parquet: the same for 2020-12, written in the official Parquet
  layout of 2020 (passenger_count and RatecodeID as DOUBLE, an all-null airport_fee column), so the
  sample carries the drift the conform step must absorb.
- fhv/fhv_tripdata_2020-10.csv.gz: MADE UP. No real FHV month is available offline: the published
  FHV header with pickup/dropoff times and zones borrowed from every 40th real green 2020-10 trip,
  and dispatching bases invented (B00001..B00009).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import polars as pl

YELLOW_SAMPLE_TO_TLC = {
    "vendor_id": "VendorID",
    "pickup_datetime": "tpep_pickup_datetime",
    "dropoff_datetime": "tpep_dropoff_datetime",
    "rate_code_id": "RatecodeID",
    "pickup_location_id": "PULocationID",
    "dropoff_location_id": "DOLocationID",
}
YELLOW_ROWS = 2_000
EVERY_NTH_GREEN = 20


def every_nth_line_gzip(src: Path, dest: Path, nth: int) -> None:
    with gzip.open(src, "rt", newline="") as fin, gzip.GzipFile(dest, "wb", mtime=0) as fout:
        fout.write(fin.readline().encode())
        for i, line in enumerate(fin):
            if i % nth == 0:
                fout.write(line.encode())


def write_csv_gz(df: pl.DataFrame, dest: Path) -> None:
    with gzip.GzipFile(dest, "wb", mtime=0) as fout:
        df.write_csv(fout)


def yellow_sample(shared: Path, month: str) -> pl.DataFrame:
    df = pl.read_csv(shared / "yellow_samples" / f"yellow_tripdata_sample_{month}.csv", infer_schema=False)
    return df.head(YELLOW_ROWS).rename(YELLOW_SAMPLE_TO_TLC)


def main(shared: Path, out: Path) -> None:
    for service in ("green", "yellow", "fhv"):
        (out / service).mkdir(parents=True, exist_ok=True)

    every_nth_line_gzip(
        shared / "green" / "green_tripdata_2020-10.csv.gz", out / "green" / "green_tripdata_2020-10.csv.gz",
        EVERY_NTH_GREEN,
    )
    green_2023 = pl.read_parquet(shared / "green" / "green_tripdata_2023-12.parquet")
    green_2023.gather_every(EVERY_NTH_GREEN).write_parquet(out / "green" / "green_tripdata_2023-12.parquet")

    for month in ("2020-10", "2020-11"):
        write_csv_gz(yellow_sample(shared, month), out / "yellow" / f"yellow_tripdata_{month}.csv.gz")
    # The official 2020 Parquet layout: int64 ids, double passenger_count/RatecodeID, null airport_fee.
    floats = {"passenger_count", "RatecodeID", "trip_distance", "fare_amount", "extra", "mta_tax",
              "tip_amount", "tolls_amount", "improvement_surcharge", "total_amount", "congestion_surcharge"}
    yellow_2020_12 = yellow_sample(shared, "2020-12")
    yellow_2020_12 = yellow_2020_12.with_columns(
        *[pl.col(c).cast(pl.Float64) for c in floats],
        *[pl.col(c).cast(pl.Int64) for c in ("VendorID", "PULocationID", "DOLocationID", "payment_type")],
        *[pl.col(c).str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us")
          for c in ("tpep_pickup_datetime", "tpep_dropoff_datetime")],
        pl.lit(None, dtype=pl.Int32).alias("airport_fee"),
    )
    yellow_2020_12.write_parquet(out / "yellow" / "yellow_tripdata_2020-12.parquet")

    green = pl.read_csv(shared / "green" / "green_tripdata_2020-10.csv.gz", infer_schema=False).gather_every(40)
    fhv = green.select(
        pl.format("B0000{}", (pl.int_range(pl.len()) % 9 + 1)).alias("dispatching_base_num"),
        pl.col("lpep_pickup_datetime").alias("pickup_datetime"),
        pl.col("lpep_dropoff_datetime").alias("dropOff_datetime"),
        pl.col("PULocationID").alias("PUlocationID"),
        pl.col("DOLocationID").alias("DOlocationID"),
        pl.lit(None, dtype=pl.String).alias("SR_Flag"),
        pl.format("B0000{}", (pl.int_range(pl.len()) % 9 + 1)).alias("Affiliated_base_number"),
    )
    write_csv_gz(fhv, out / "fhv" / "fhv_tripdata_2020-10.csv.gz")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    shared_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "data" / "tlc"
    main(shared_dir, root / "data" / "tlc_sample")
