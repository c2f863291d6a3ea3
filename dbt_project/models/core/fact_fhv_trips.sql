{{ config(**monthly_incremental()) }}

with zones as (
    select * from {{ ref('dim_zones') }}
    where borough != 'Unknown'
)

select
    trips.trip_id,
    trips.dispatching_base_num,
    trips.affiliated_base_number,
    trips.sr_flag,
    trips.pickup_datetime,
    trips.dropoff_datetime,
    trips.pickup_location_id,
    pickup_zone.borough as pickup_borough,
    pickup_zone.zone as pickup_zone,
    trips.dropoff_location_id,
    dropoff_zone.borough as dropoff_borough,
    dropoff_zone.zone as dropoff_zone,
    trips.source_month
from {{ ref('stg_fhv_tripdata') }} as trips
inner join zones as pickup_zone on trips.pickup_location_id = pickup_zone.location_id
inner join zones as dropoff_zone on trips.dropoff_location_id = dropoff_zone.location_id
where {{ month_window_filter('trips.source_month') }}
