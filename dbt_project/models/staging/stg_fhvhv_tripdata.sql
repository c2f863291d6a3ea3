{{ config(**monthly_incremental()) }}

-- The trip key and the de-duplication are computed here once per month and stored; the fact
-- tables and the tests read them. The month filter is on the lake's partition columns, so a
-- month run reads only that month's files. Months of the TLC's 2019 release (7 columns) have
-- only the licence, base, times, zones and SR_Flag: the other columns are null there.
with source as (
    select * from {{ source('lake', 'ext_fhvhv_tripdata') }}
    where {{ lake_month_filter() }}
),

renamed as (
    select
        {{ trip_key(['hvfhs_license_num', 'dispatching_base_num', 'originating_base_num', 'request_datetime',
                     'on_scene_datetime', 'pickup_datetime', 'dropoff_datetime', 'PULocationID', 'DOLocationID',
                     'trip_miles', 'trip_time', 'base_passenger_fare', 'tolls', 'bcf', 'sales_tax',
                     'congestion_surcharge', 'airport_fee', 'tips', 'driver_pay', 'shared_request_flag',
                     'shared_match_flag', 'access_a_ride_flag', 'wav_request_flag', 'wav_match_flag',
                     'cbd_congestion_fee', 'SR_Flag']) }} as trip_id,
        hvfhs_license_num,
        dispatching_base_num,
        originating_base_num,

        cast(request_datetime as {{ type_datetime() }}) as request_datetime,
        cast(on_scene_datetime as {{ type_datetime() }}) as on_scene_datetime,
        cast(pickup_datetime as {{ type_datetime() }}) as pickup_datetime,
        cast(dropoff_datetime as {{ type_datetime() }}) as dropoff_datetime,
        {{ safe_cast('PULocationID', type_int()) }} as pickup_location_id,
        {{ safe_cast('DOLocationID', type_int()) }} as dropoff_location_id,

        cast(trip_miles as {{ type_float() }}) as trip_miles,
        {{ safe_cast('trip_time', type_int()) }} as trip_time,
        cast(base_passenger_fare as {{ type_float() }}) as base_passenger_fare,
        cast(tolls as {{ type_float() }}) as tolls,
        cast(bcf as {{ type_float() }}) as bcf,
        cast(sales_tax as {{ type_float() }}) as sales_tax,
        cast(congestion_surcharge as {{ type_float() }}) as congestion_surcharge,
        cast(airport_fee as {{ type_float() }}) as airport_fee,
        cast(cbd_congestion_fee as {{ type_float() }}) as cbd_congestion_fee,
        cast(tips as {{ type_float() }}) as tips,
        cast(driver_pay as {{ type_float() }}) as driver_pay,

        shared_request_flag,
        shared_match_flag,
        access_a_ride_flag,
        wav_request_flag,
        wav_match_flag,
        -- the shared-ride flag of the 2019 release (1 or null); null in the republished layout
        {{ safe_cast('SR_Flag', type_int()) }} as sr_flag,

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
