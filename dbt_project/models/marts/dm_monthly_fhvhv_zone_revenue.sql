{#- High Volume FHV by pickup zone, pickup month and company. Monthly like dm_monthly_zone_revenue:
    a run recomputes every pickup month its source months have trips in (from all source months)
    and replaces exactly those pickup months (DuckDB: delete+insert by revenue_month), reading
    fact_fhvhv_trips only for them; on BigQuery it is rebuilt whole, from every month (which
    partitions to replace would only be known from a query). -#}
{{
    config(
        materialized=('table' if target.type == 'bigquery' else 'incremental'),
        tags=['monthly'],
        incremental_strategy='delete+insert',
        unique_key='revenue_month',
        on_schema_change='append_new_columns',
    )
}}

with trips as (
    select *, cast({{ dbt.date_trunc('month', 'pickup_datetime') }} as date) as revenue_month
    from {{ ref('fact_fhvhv_trips') }}
)

select
    pickup_zone as revenue_zone,
    revenue_month,
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
    avg(trip_miles) as avg_monthly_trip_miles
from trips
{#- An incremental run recomputes the pickup months its source months touch; a full build (the
    first, and every one on BigQuery, where this is a table) computes them all. -#}
{% if is_incremental() %}
    where revenue_month in (
        select distinct revenue_month from trips where {{ month_window_filter('source_month') }}
    )
{% endif %}
group by 1, 2, 3, 4
