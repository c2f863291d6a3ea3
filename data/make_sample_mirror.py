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
- fhvhv/fhvhv_tripdata_2020-10.parquet: MADE UP. No real High Volume FHV month is available offline:
  3,000 trips in the TLC's published Parquet layout (24 columns; cbd_congestion_fee from 2025), made
  by `fhvhv_trips`: pickup/dropoff times (moved into the month, same day of month and time of day),
  pickup and dropoff zones and distances borrowed from real green 2020-10 trips; the licence numbers
  are the TLC's (HV0002 Juno, HV0003 Uber, HV0004 Via, HV0005 Lyft), mixed about 70/25/3/2; bases,
  fares, fees, pay and flags are invented by fixed formulas (deterministic, no random generator).
  `fhvhv_trips` also writes the 2019 release layout (7 columns with SR_Flag) and any number of rows:
  `python data/make_sample_mirror.py --fhvhv 2019-03 20000000 2019 out.csv.gz` makes a 20M-row month.
"""

from __future__ import annotations

import argparse
import calendar
import gzip
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
FHVHV_ROWS = 3_000
FHVHV_SAMPLE_MONTH = "2020-10"

# The TLC's High Volume licence numbers, with a made-up dispatching base for each; share of trips in %.
HV_LICENCES = (("HV0003", "B03404", 70), ("HV0005", "B03406", 25), ("HV0004", "B02800", 3), ("HV0002", "B02907", 2))
FHVHV_2019_COLUMNS = ("hvfhs_license_num", "dispatching_base_num", "pickup_datetime", "dropoff_datetime",
                      "PULocationID", "DOLocationID", "SR_Flag")


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


def green_trips(shared: Path) -> pl.DataFrame:
    """The real green 2020-10 trips the made-up FHV months borrow times, zones and distances from."""
    green = pl.read_csv(shared / "green" / "green_tripdata_2020-10.csv.gz", infer_schema=False)
    return green.select(
        pl.col("lpep_pickup_datetime").str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us").alias("pickup"),
        pl.col("lpep_dropoff_datetime").str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us").alias("dropoff"),
        pl.col("PULocationID").cast(pl.Int64).fill_null(264),
        pl.col("DOLocationID").cast(pl.Int64).fill_null(264),
        pl.col("trip_distance").cast(pl.Float64).fill_null(0.0).clip(0.0, 60.0).alias("trip_miles"),
    )


def fhvhv_trips(green: pl.DataFrame, month: str, rows: int, layout: str = "published") -> pl.LazyFrame:
    """`rows` MADE-UP High Volume FHV trips of `month` (YYYY-MM) in the TLC's layout `layout`:
    "published" (the official Parquet: 24 columns, and cbd_congestion_fee from 2025-01) or "2019"
    (the 2019 release: 7 columns with SR_Flag). Times, zones and distances come from the real green
    trips `green` (see green_trips), cycled through when rows > green.height; everything else is
    derived from a multiplicative hash of the row number, so the same arguments give the same rows.
    Lazy: `sink_parquet`/`sink_csv` write a 20M-row month without holding it in memory."""
    if layout not in ("published", "2019"):
        raise ValueError(f"layout {layout!r} is neither 'published' nor '2019'")
    year, mm = (int(part) for part in month.split("-"))
    days = calendar.monthrange(year, mm)[1]
    donor = green.lazy().with_row_index("k").with_columns(pl.col("k").cast(pl.Int64))
    mix = (pl.col("i") * 2_654_435_761) % (1 << 32)  # Knuth's multiplicative hash: spreads rows, stable
    trips = (
        pl.LazyFrame().select(pl.int_range(rows, dtype=pl.Int64).alias("i"))
        .with_columns(mix.alias("mix"))
        .with_columns((pl.col("mix") % green.height).alias("k"), ((pl.col("mix") // 128) % 100).alias("bucket"))
        .join(donor, on="k", how="left")
        .sort("i")
    )
    # The licence by bucket 0..99: 0..69 Uber, 70..94 Lyft, 95..97 Via, 98..99 Juno.
    cuts, start = [], 0
    for number, base_num, share in HV_LICENCES:
        cuts.append((start + share, number, base_num))
        start += share
    licence = pl.when(pl.col("bucket") < cuts[0][0]).then(pl.lit(cuts[0][1]))
    base = pl.when(pl.col("bucket") < cuts[0][0]).then(pl.lit(cuts[0][2]))
    for cut, number, base_num in cuts[1:]:
        licence = licence.when(pl.col("bucket") < cut).then(pl.lit(number))
        base = base.when(pl.col("bucket") < cut).then(pl.lit(base_num))
    seconds_of_day = (pl.col("pickup").dt.hour().cast(pl.Int64) * 3600 + pl.col("pickup").dt.minute() * 60
                      + pl.col("pickup").dt.second())
    pickup = (pl.datetime(year, mm, 1, time_unit="us")
              + pl.duration(days=(pl.col("pickup").dt.day().cast(pl.Int64) - 1) % days, seconds=seconds_of_day))
    trip_time = (pl.col("dropoff") - pl.col("pickup")).dt.total_seconds().clip(60, 3 * 3600)
    fare = (2.55 + 1.2 * pl.col("trip_miles") + 0.45 * pl.col("trip_time") / 60).round(2)
    trips = trips.with_columns(
        licence.alias("hvfhs_license_num"), base.alias("dispatching_base_num"),
        pickup.alias("pickup_datetime"), trip_time.alias("trip_time"),
    ).with_columns(
        (pl.col("pickup_datetime") + pl.duration(seconds=pl.col("trip_time"))).alias("dropoff_datetime"),
        fare.alias("base_passenger_fare"),
        pl.when(pl.col("bucket") % 25 < 1).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("shared_request_flag"),
    )
    if layout == "2019":
        return trips.select(
            *FHVHV_2019_COLUMNS[:6],
            pl.when(pl.col("shared_request_flag") == "Y").then(pl.lit(1, pl.Int64)).alias("SR_Flag"),
        )
    fare = pl.col("base_passenger_fare")
    columns = [
        "hvfhs_license_num", "dispatching_base_num",
        pl.when(pl.col("hvfhs_license_num") == "HV0003").then(pl.col("dispatching_base_num"))
        .alias("originating_base_num"),
        (pl.col("pickup_datetime") - pl.duration(seconds=120 + pl.col("mix") % 600)).alias("request_datetime"),
        pl.when(pl.col("hvfhs_license_num") != "HV0005")  # Lyft does not report arrival on scene
        .then(pl.col("pickup_datetime") - pl.duration(seconds=pl.col("mix") % 180)).alias("on_scene_datetime"),
        "pickup_datetime", "dropoff_datetime", "PULocationID", "DOLocationID", "trip_miles", "trip_time",
        "base_passenger_fare",
        pl.when(pl.col("bucket") % 20 == 0).then(6.94).otherwise(0.0).alias("tolls"),
        (fare * 0.025).round(2).alias("bcf"),
        (fare * 0.08875).round(2).alias("sales_tax"),
        pl.when(pl.col("bucket") % 3 == 0).then(2.75).otherwise(0.0).alias("congestion_surcharge"),
        # $2.50 for a pick-up or drop-off at Newark (1), JFK (132) or LaGuardia (138)
        pl.when(pl.col("PULocationID").is_in([1, 132, 138]) | pl.col("DOLocationID").is_in([1, 132, 138]))
        .then(2.5).otherwise(0.0).alias("airport_fee"),
        pl.when(pl.col("bucket") % 5 == 0).then((fare * 0.15).round(2)).otherwise(0.0).alias("tips"),
        (fare * 0.72).round(2).alias("driver_pay"),
        "shared_request_flag",
        pl.when(pl.col("bucket") % 50 < 1).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("shared_match_flag"),
        pl.lit("N").alias("access_a_ride_flag"),
        pl.when(pl.col("bucket") == 99).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("wav_request_flag"),
        pl.when(pl.col("bucket") == 99).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("wav_match_flag"),
    ]
    if (year, mm) >= (2025, 1):
        columns.append(pl.when(pl.col("bucket") % 4 == 0).then(1.5).otherwise(0.0).alias("cbd_congestion_fee"))
    return trips.select(columns)


def write_fhvhv_month(green: pl.DataFrame, month: str, rows: int, layout: str, dest: Path) -> None:
    """A made-up fhvhv month file: the 2019 layout as gzip CSV (as it was released), else Parquet."""
    trips = fhvhv_trips(green, month, rows, layout)
    if dest.name.endswith(".csv.gz"):
        with gzip.GzipFile(dest, "wb", mtime=0) as fout:
            trips.collect(engine="streaming").write_csv(fout, datetime_format="%Y-%m-%d %H:%M:%S")
    else:
        trips.sink_parquet(dest)


def main(shared: Path, out: Path) -> None:
    for service in ("green", "yellow", "fhv", "fhvhv"):
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

    write_fhvhv_month(green_trips(shared), FHVHV_SAMPLE_MONTH, FHVHV_ROWS, "published",
                      out / "fhvhv" / f"fhvhv_tripdata_{FHVHV_SAMPLE_MONTH}.parquet")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shared", nargs="?", type=Path, default=root.parent / "shared" / "data" / "tlc")
    parser.add_argument("--fhvhv", nargs=4, metavar=("MONTH", "ROWS", "LAYOUT", "DEST"),
                        help="only write one made-up fhvhv month: LAYOUT 'published' or '2019'; "
                             "DEST ending in .csv.gz or .parquet")
    args = parser.parse_args()
    if args.fhvhv:
        month, rows, layout, dest = args.fhvhv
        write_fhvhv_month(green_trips(args.shared), month, int(rows), layout, Path(dest))
    else:
        main(args.shared, root / "data" / "tlc_sample")
