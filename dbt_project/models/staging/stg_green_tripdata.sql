{{ config(**monthly_incremental()) }}

-- The trip key and the de-duplication are computed here once per month and stored; the fact
-- tables and the tests read them. The month filter is on the lake's partition columns, so a
-- month run reads only that month's files.
with source as (
    select * from {{ source('lake', 'ext_green_tripdata') }}
    where {{ lake_month_filter() }}
),

renamed as (
    select
        {{ trip_key(['VendorID', 'lpep_pickup_datetime', 'lpep_dropoff_datetime', 'store_and_fwd_flag',
                     'RatecodeID', 'PULocationID', 'DOLocationID', 'passenger_count', 'trip_distance',
                     'fare_amount', 'extra', 'mta_tax', 'tip_amount', 'tolls_amount', 'ehail_fee',
                     'improvement_surcharge', 'total_amount', 'payment_type', 'trip_type',
                     'congestion_surcharge']) }} as trip_id,
        {{ safe_cast('VendorID', type_int()) }} as vendor_id,
        {{ safe_cast('RatecodeID', type_int()) }} as ratecode_id,
        {{ safe_cast('PULocationID', type_int()) }} as pickup_location_id,
        {{ safe_cast('DOLocationID', type_int()) }} as dropoff_location_id,

        cast(lpep_pickup_datetime as {{ type_datetime() }}) as pickup_datetime,
        cast(lpep_dropoff_datetime as {{ type_datetime() }}) as dropoff_datetime,

        store_and_fwd_flag,
        {{ safe_cast('passenger_count', type_int()) }} as passenger_count,
        cast(trip_distance as {{ type_float() }}) as trip_distance,
        {{ safe_cast('trip_type', type_int()) }} as trip_type,

        cast(fare_amount as {{ type_float() }}) as fare_amount,
        cast(extra as {{ type_float() }}) as extra,
        cast(mta_tax as {{ type_float() }}) as mta_tax,
        cast(tip_amount as {{ type_float() }}) as tip_amount,
        cast(tolls_amount as {{ type_float() }}) as tolls_amount,
        cast(ehail_fee as {{ type_float() }}) as ehail_fee,
        cast(improvement_surcharge as {{ type_float() }}) as improvement_surcharge,
        cast(total_amount as {{ type_float() }}) as total_amount,
        cast(congestion_surcharge as {{ type_float() }}) as congestion_surcharge,
        -- green trips pay no airport fee (the TLC publishes the column for yellow and fhvhv only)
        cast(null as {{ type_float() }}) as airport_fee,
        cast(cbd_congestion_fee as {{ type_float() }}) as cbd_congestion_fee,
        {{ safe_cast('payment_type', type_int()) }} as payment_type,
        {{ get_payment_type_description('payment_type') }} as payment_type_description,

        {{ month_start('year', 'month') }} as source_month
    from source
)

select *
from renamed
where true
-- exact duplicates within a month collapse to one trip; rows of one key are the same trip in every
-- column, so which one is kept does not matter, and no order is asked for (sorting them cost more
-- than the rest of the de-duplication)
qualify row_number() over (partition by source_month, trip_id) = 1
