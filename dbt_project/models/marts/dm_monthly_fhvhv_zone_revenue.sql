{#- High Volume FHV by pickup zone, pickup month and company. Rebuilt whole in every monthly run from
    int_fhvhv_zone_revenue_by_source_month (a few hundred rows per source month), so a run costs the
    same however long the history, as dm_monthly_zone_revenue does: a pickup month gathers the sums
    of every source month its trips were published in. -#}
{{ config(materialized='table', tags=['monthly']) }}

select
    revenue_zone,
    revenue_month,
    hvfhs_license_num,
    company,

    sum(total_monthly_trips) as total_monthly_trips,
    sum(revenue_monthly_base_passenger_fare) as revenue_monthly_base_passenger_fare,
    sum(revenue_monthly_passenger_fare_total) as revenue_monthly_passenger_fare_total,
    sum(revenue_monthly_tips) as revenue_monthly_tips,
    sum(monthly_driver_pay) as monthly_driver_pay,
    sum(trip_miles_sum) / nullif(sum(trip_miles_trips), 0) as avg_monthly_trip_miles
from {{ ref('int_fhvhv_zone_revenue_by_source_month') }}
group by 1, 2, 3, 4
