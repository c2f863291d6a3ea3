{#- Revenue by pickup zone, pickup month and service type. Monthly like fact_trips, but keyed by the
    pickup month: a source month's file also holds some trips picked up in earlier months, so a run
    recomputes every pickup month its source months have trips in (from all source months) and
    replaces exactly those pickup months (DuckDB: delete+insert by revenue_month). It reads
    fact_trips only for them. On BigQuery, the distributed engine, it is rebuilt whole: which
    partitions to replace would only be known from a query (a dynamic insert_overwrite). -#}
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
    from {{ ref('fact_trips') }}
),

changed_months as (
    select distinct revenue_month
    from trips
    where {{ month_window_filter('source_month') }}
)

select
    pickup_zone as revenue_zone,
    revenue_month,
    service_type,

    sum(fare_amount) as revenue_monthly_fare,
    sum(extra) as revenue_monthly_extra,
    sum(mta_tax) as revenue_monthly_mta_tax,
    sum(tip_amount) as revenue_monthly_tip_amount,
    sum(tolls_amount) as revenue_monthly_tolls_amount,
    sum(ehail_fee) as revenue_monthly_ehail_fee,
    sum(improvement_surcharge) as revenue_monthly_improvement_surcharge,
    sum(total_amount) as revenue_monthly_total_amount,

    count(tripid) as total_monthly_trips,
    avg(passenger_count) as avg_monthly_passenger_count,
    avg(trip_distance) as avg_monthly_trip_distance
from trips
where revenue_month in (select revenue_month from changed_months)
group by 1, 2, 3
