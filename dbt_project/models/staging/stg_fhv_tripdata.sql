with source as (
    select * from {{ source('raw', 'ext_fhv_tripdata') }}
),

renamed as (
    select
        {{ trip_key(['dispatching_base_num', 'pickup_datetime', 'dropOff_datetime', 'PUlocationID',
                     'DOlocationID', 'SR_Flag', 'Affiliated_base_number']) }} as tripid,
        dispatching_base_num,
        cast(pickup_datetime as {{ type_datetime() }}) as pickup_datetime,
        cast(dropOff_datetime as {{ type_datetime() }}) as dropoff_datetime,
        {{ safe_cast('PUlocationID', type_int()) }} as pickup_locationid,
        {{ safe_cast('DOlocationID', type_int()) }} as dropoff_locationid,
        {{ safe_cast('SR_Flag', type_int()) }} as sr_flag,
        affiliated_base_number,

        {{ month_start('year', 'month') }} as source_month
    from source
)

select *
from renamed
where true
-- per month: a month run reads only its own month (DuckDB pushes the month filter below the window)
qualify row_number() over (partition by source_month, tripid order by pickup_datetime) = 1
