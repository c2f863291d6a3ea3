"""The canonical schema of each service, declared once: every month is conformed onto it.

Names follow the TLC's official Parquet files (staging renames them to snake_case), types are the
widest the TLC has used: ids and codes Int64, amounts Float64, timestamps microseconds.
"""

from __future__ import annotations

import polars as pl

TIMESTAMP = pl.Datetime("us")

_GREEN_YELLOW_AMOUNTS = {
    "fare_amount": pl.Float64,
    "extra": pl.Float64,
    "mta_tax": pl.Float64,
    "tip_amount": pl.Float64,
    "tolls_amount": pl.Float64,
}

CANONICAL_SCHEMAS: dict[str, pl.Schema] = {
    "green": pl.Schema(
        {
            "VendorID": pl.Int64,
            "lpep_pickup_datetime": TIMESTAMP,
            "lpep_dropoff_datetime": TIMESTAMP,
            "store_and_fwd_flag": pl.String,
            "RatecodeID": pl.Int64,
            "PULocationID": pl.Int64,
            "DOLocationID": pl.Int64,
            "passenger_count": pl.Int64,
            "trip_distance": pl.Float64,
            **_GREEN_YELLOW_AMOUNTS,
            "ehail_fee": pl.Float64,
            "improvement_surcharge": pl.Float64,
            "total_amount": pl.Float64,
            "payment_type": pl.Int64,
            "trip_type": pl.Int64,
            "congestion_surcharge": pl.Float64,
            "cbd_congestion_fee": pl.Float64,
        }
    ),
    "yellow": pl.Schema(
        {
            "VendorID": pl.Int64,
            "tpep_pickup_datetime": TIMESTAMP,
            "tpep_dropoff_datetime": TIMESTAMP,
            "passenger_count": pl.Int64,
            "trip_distance": pl.Float64,
            "RatecodeID": pl.Int64,
            "store_and_fwd_flag": pl.String,
            "PULocationID": pl.Int64,
            "DOLocationID": pl.Int64,
            "payment_type": pl.Int64,
            **_GREEN_YELLOW_AMOUNTS,
            "improvement_surcharge": pl.Float64,
            "total_amount": pl.Float64,
            "congestion_surcharge": pl.Float64,
            "airport_fee": pl.Float64,
            "cbd_congestion_fee": pl.Float64,
        }
    ),
    "fhv": pl.Schema(
        {
            "dispatching_base_num": pl.String,
            "pickup_datetime": TIMESTAMP,
            "dropOff_datetime": TIMESTAMP,
            "PUlocationID": pl.Int64,
            "DOlocationID": pl.Int64,
            "SR_Flag": pl.Int64,
            "Affiliated_base_number": pl.String,
        }
    ),
}

# Columns a file must have: without them a month cannot be placed or joined.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "green": ("lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID"),
    "yellow": ("tpep_pickup_datetime", "tpep_dropoff_datetime", "PULocationID", "DOLocationID"),
    "fhv": ("dispatching_base_num", "pickup_datetime", "dropOff_datetime"),
}

PICKUP_COLUMN = {"green": "lpep_pickup_datetime", "yellow": "tpep_pickup_datetime", "fhv": "pickup_datetime"}

# Hive partition columns of the conformed layout (conformed/{s}/year=YYYY/month=MM/).
PARTITION_COLUMNS = {"year": pl.Int64, "month": pl.Int64}
