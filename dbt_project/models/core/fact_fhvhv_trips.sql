{#- High Volume FHV trips (Uber, Lyft, Via, Juno) with pickup and dropoff zones and the company.
    Monthly: a run for some months reads those months of staging (the trip key and the
    de-duplication are stored there) and replaces exactly those months here. Its own fact, not one
    with fact_fhv_trips: see _core.yml. -#}
{{ config(cluster_by=(['hvfhs_license_num', 'pickup_location_id'] if target.type == 'bigquery' else none),
          **monthly_incremental()) }}

with trips as (
    select * from {{ ref('stg_fhvhv_tripdata') }}
    where {{ month_window_filter('source_month') }}
),

zones as (
    select * from {{ ref('dim_zones') }}
    where borough != 'Unknown'
),

licenses as (
    select * from {{ ref('hvfhs_licenses') }}
)

select
    trips.trip_id,
    trips.hvfhs_license_num,
    coalesce(licenses.company, 'Unknown') as company,
    trips.dispatching_base_num,
    trips.originating_base_num,
    trips.request_datetime,
    trips.on_scene_datetime,
    trips.pickup_datetime,
    trips.dropoff_datetime,
    trips.pickup_location_id,
    pickup_zone.borough as pickup_borough,
    pickup_zone.zone as pickup_zone,
    trips.dropoff_location_id,
    dropoff_zone.borough as dropoff_borough,
    dropoff_zone.zone as dropoff_zone,
    trips.trip_miles,
    trips.trip_time,
    trips.base_passenger_fare,
    trips.tolls,
    trips.bcf,
    trips.sales_tax,
    trips.congestion_surcharge,
    trips.airport_fee,
    trips.cbd_congestion_fee,
    trips.tips,
    trips.driver_pay,
    trips.shared_request_flag,
    trips.shared_match_flag,
    trips.access_a_ride_flag,
    trips.wav_request_flag,
    trips.wav_match_flag,
    trips.sr_flag,
    trips.source_month
from trips
inner join zones as pickup_zone on trips.pickup_location_id = pickup_zone.location_id
inner join zones as dropoff_zone on trips.dropoff_location_id = dropoff_zone.location_id
left join licenses on trips.hvfhs_license_num = licenses.hvfhs_license_num
