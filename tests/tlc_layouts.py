"""Month files in the TLC's historical layouts, derived from the real rows in ../shared (each says how).

- yellow_2018_layout: a real 10,000-row yellow sample month with the TLC names restored (mapping in
  ../shared/data/tlc/README.md) and without congestion_surcharge, which the TLC's 2018 files did not
  have (the sample's publisher added it, empty, to every month).
- yellow_official_layout: the same rows as the TLC's Parquet republication has them: the late columns
  congestion_surcharge and airport_fee present as all-null INT32 columns (cbd_congestion_fee, from
  2025, absent), ids INT64, amounts DOUBLE, timestamps timestamp[us].
- fhvhv_month: MADE-UP High Volume FHV trips (data/make_sample_mirror.py's fhvhv_trips: times, zones
  and distances of real green trips) in the published or the 2019 layout.
"""

import gzip
from pathlib import Path

import polars as pl

from data.make_sample_mirror import YELLOW_SAMPLE_TO_TLC, green_trips, write_fhvhv_month
from tests.conftest import SHARED_TLC


def yellow_sample_month(month: str) -> pl.DataFrame:
    """The real yellow sample of `month` as text, with the TLC's column names restored."""
    path = SHARED_TLC / "yellow_samples" / f"yellow_tripdata_sample_{month}.csv"
    return pl.read_csv(path, infer_schema=False).rename(YELLOW_SAMPLE_TO_TLC)


def write_csv_gz(df: pl.DataFrame, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(dest, "wb", mtime=0) as fout:
        df.write_csv(fout)
    return dest


def yellow_2018_layout(month: str = "2018-06") -> pl.DataFrame:
    return yellow_sample_month(month).drop("congestion_surcharge")


def yellow_official_layout(month: str = "2018-06") -> pl.DataFrame:
    df = yellow_2018_layout(month)
    ints = ("VendorID", "passenger_count", "RatecodeID", "PULocationID", "DOLocationID", "payment_type")
    floats = ("trip_distance", "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount",
              "improvement_surcharge", "total_amount")
    return df.with_columns(
        *[pl.col(c).cast(pl.Int64) for c in ints],
        *[pl.col(c).cast(pl.Float64) for c in floats],
        *[pl.col(c).str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us")
          for c in ("tpep_pickup_datetime", "tpep_dropoff_datetime")],
        pl.lit(None, dtype=pl.Int32).alias("congestion_surcharge"),
        pl.lit(None, dtype=pl.Int32).alias("airport_fee"),
    )


def fhvhv_month(month: str, rows: int, layout: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_fhvhv_month(green_trips(SHARED_TLC), month, rows, layout, dest)
    return dest
