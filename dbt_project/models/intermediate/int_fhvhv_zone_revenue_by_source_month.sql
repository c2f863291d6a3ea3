{#- The sums of dm_monthly_fhvhv_zone_revenue, per source month: a month run aggregates only its own
    month of fact_fhvhv_trips (the largest service, about 20M trips a month), so its cost does not
    grow with the history; the mart then adds up these few rows. -#}
{#- No partition filter required: dm_monthly_fhvhv_zone_revenue reads every month of it in every run. -#}
{{ config(**monthly_incremental(require_partition_filter=false)) }}

select
    source_month,
    cast({{ dbt.date_trunc('month', 'pickup_datetime') }} as date) as revenue_month,
    pickup_zone as revenue_zone,
    hvfhs_license_num,
    company,

    count(trip_id) as total_monthly_trips,
    sum(base_passenger_fare) as revenue_monthly_base_passenger_fare,
    -- what the passenger paid without tips; null in months of the 2019 release (no fares published)
    sum(
        base_passenger_fare + coalesce(tolls, 0) + coalesce(bcf, 0) + coalesce(sales_tax, 0)
        + coalesce(congestion_surcharge, 0) + coalesce(airport_fee, 0) + coalesce(cbd_congestion_fee, 0)
    ) as revenue_monthly_passenger_fare_total,
    sum(tips) as revenue_monthly_tips,
    sum(driver_pay) as monthly_driver_pay,
    -- the mart's average is taken from these, over every source month of a pickup month
    sum(trip_miles) as trip_miles_sum,
    count(trip_miles) as trip_miles_trips
from {{ ref('fact_fhvhv_trips') }}
where {{ month_window_filter('source_month') }}
group by 1, 2, 3, 4, 5
