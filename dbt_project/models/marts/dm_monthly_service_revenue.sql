{#- Trips and revenue by pickup month and service, over every zone: what the charts of mart_charts
    draw. Rebuilt whole in every monthly run from dm_monthly_zone_revenue (a few hundred rows a
    month), like that mart. -#}
{{ config(materialized='table', tags=['monthly']) }}

select
    revenue_month,
    service_type,
    sum(total_monthly_trips) as total_monthly_trips,
    sum(revenue_monthly_total_amount) as revenue_monthly_total_amount
from {{ ref('dm_monthly_zone_revenue') }}
group by 1, 2
