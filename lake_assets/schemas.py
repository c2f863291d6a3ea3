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
    # High Volume FHV: the 25 columns of the official Parquet (types as published there, ids widened
    # to Int64), and SR_Flag of the 2019 release (docs/schema-history.md: kept as its own column).
    "fhvhv": pl.Schema(
        {
            "hvfhs_license_num": pl.String,
            "dispatching_base_num": pl.String,
            "originating_base_num": pl.String,
            "request_datetime": TIMESTAMP,
            "on_scene_datetime": TIMESTAMP,
            "pickup_datetime": TIMESTAMP,
            "dropoff_datetime": TIMESTAMP,
            "PULocationID": pl.Int64,
            "DOLocationID": pl.Int64,
            "trip_miles": pl.Float64,
            "trip_time": pl.Int64,
            "base_passenger_fare": pl.Float64,
            "tolls": pl.Float64,
            "bcf": pl.Float64,
            "sales_tax": pl.Float64,
            "congestion_surcharge": pl.Float64,
            "airport_fee": pl.Float64,
            "tips": pl.Float64,
            "driver_pay": pl.Float64,
            "shared_request_flag": pl.String,
            "shared_match_flag": pl.String,
            "access_a_ride_flag": pl.String,
            "wav_request_flag": pl.String,
            "wav_match_flag": pl.String,
            "cbd_congestion_fee": pl.Float64,
            "SR_Flag": pl.Int64,
        }
    ),
}

# Key columns: without them a month cannot be placed or joined. The schema history
# (lake_assets/schema_history.py) publishes them in every month of every layout, so a file always
# needs them; the check required_columns_not_null counts their nulls.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "green": ("lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID"),
    "yellow": ("tpep_pickup_datetime", "tpep_dropoff_datetime", "PULocationID", "DOLocationID"),
    "fhv": ("dispatching_base_num", "pickup_datetime", "dropOff_datetime"),
    "fhvhv": ("hvfhs_license_num", "dispatching_base_num", "pickup_datetime", "dropoff_datetime",
              "PULocationID", "DOLocationID"),
}

PICKUP_COLUMN = {"green": "lpep_pickup_datetime", "yellow": "tpep_pickup_datetime", "fhv": "pickup_datetime",
                 "fhvhv": "pickup_datetime"}

# Hive partition columns of the conformed layout (conformed/{s}/year=YYYY/month=MM/).
PARTITION_COLUMNS = {"year": pl.Int64, "month": pl.Int64}
