{#- The mart's sums, per source month: a month run aggregates only its own month of fact_trips, so
    its cost does not grow with the history; dm_monthly_zone_revenue then adds up these few rows. A
    source month holds trips of several pickup months (some picked up before the month they were
    published in), hence one row per source month, pickup month, zone and service. -#}
{#- No partition filter required: dm_monthly_zone_revenue reads every month of it in every run. -#}
{{ config(**monthly_incremental(require_partition_filter=false)) }}

select
    source_month,
    cast({{ dbt.date_trunc('month', 'pickup_datetime') }} as date) as revenue_month,
    pickup_zone as revenue_zone,
    service_type,

    sum(fare_amount) as revenue_monthly_fare,
    sum(extra) as revenue_monthly_extra,
    sum(mta_tax) as revenue_monthly_mta_tax,
    sum(tip_amount) as revenue_monthly_tip_amount,
    sum(tolls_amount) as revenue_monthly_tolls_amount,
    sum(ehail_fee) as revenue_monthly_ehail_fee,
    sum(improvement_surcharge) as revenue_monthly_improvement_surcharge,
    sum(total_amount) as revenue_monthly_total_amount,

    count(trip_id) as total_monthly_trips,
    -- averages are taken in the mart from these, over every source month of a pickup month
    sum(passenger_count) as passenger_count_sum,
    count(passenger_count) as passenger_count_trips,
    sum(trip_distance) as trip_distance_sum,
    count(trip_distance) as trip_distance_trips
from {{ ref('fact_trips') }}
where {{ month_window_filter('source_month') }}
group by 1, 2, 3, 4
