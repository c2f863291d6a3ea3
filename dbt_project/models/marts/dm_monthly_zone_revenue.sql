{#- Revenue by pickup zone, pickup month and service type. Rebuilt whole in every monthly run from
    int_zone_revenue_by_source_month (a few hundred rows per source month), so a run costs the same
    however long the history: a pickup month gathers the sums of every source month its trips were
    published in. -#}
{{ config(materialized='table', tags=['monthly']) }}

select
    revenue_zone,
    revenue_month,
    service_type,

    sum(revenue_monthly_fare) as revenue_monthly_fare,
    sum(revenue_monthly_extra) as revenue_monthly_extra,
    sum(revenue_monthly_mta_tax) as revenue_monthly_mta_tax,
    sum(revenue_monthly_tip_amount) as revenue_monthly_tip_amount,
    sum(revenue_monthly_tolls_amount) as revenue_monthly_tolls_amount,
    sum(revenue_monthly_ehail_fee) as revenue_monthly_ehail_fee,
    sum(revenue_monthly_improvement_surcharge) as revenue_monthly_improvement_surcharge,
    sum(revenue_monthly_total_amount) as revenue_monthly_total_amount,

    sum(total_monthly_trips) as total_monthly_trips,
    sum(passenger_count_sum) / nullif(sum(passenger_count_trips), 0) as avg_monthly_passenger_count,
    sum(trip_distance_sum) / nullif(sum(trip_distance_trips), 0) as avg_monthly_trip_distance
from {{ ref('int_zone_revenue_by_source_month') }}
group by 1, 2, 3
