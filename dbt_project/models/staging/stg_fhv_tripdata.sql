{{ config(**monthly_incremental()) }}

-- The trip key and the de-duplication are computed here once per month and stored; the fact
-- tables and the tests read them. The month filter is on the lake's partition columns, so a
-- month run reads only that month's files.
with source as (
    select * from {{ source('lake', 'ext_fhv_tripdata') }}
    where {{ lake_month_filter() }}
),

renamed as (
    select
        {{ trip_key(['dispatching_base_num', 'pickup_datetime', 'dropOff_datetime', 'PUlocationID',
                     'DOlocationID', 'SR_Flag', 'Affiliated_base_number']) }} as trip_id,
        dispatching_base_num,
        cast(pickup_datetime as {{ type_datetime() }}) as pickup_datetime,
        cast(dropOff_datetime as {{ type_datetime() }}) as dropoff_datetime,
        {{ safe_cast('PUlocationID', type_int()) }} as pickup_location_id,
        {{ safe_cast('DOlocationID', type_int()) }} as dropoff_location_id,
        {{ safe_cast('SR_Flag', type_int()) }} as sr_flag,
        affiliated_base_number,

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
