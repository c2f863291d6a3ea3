{#- Monthly: a run for some months reads those months of staging (the trip key and the
    de-duplication are stored there) and replaces exactly those months here. -#}
{{ config(cluster_by=(['service_type', 'pickup_location_id'] if target.type == 'bigquery' else none),
          **monthly_incremental()) }}

{#- A service whose staging table does not exist yet (no month of it was ever loaded: automation
    builds staging only for the services whose month arrived) has no trips to add. -#}
{%- set staged = {'Green': ref('stg_green_tripdata'), 'Yellow': ref('stg_yellow_tripdata')} -%}
{%- set existing = {} -%}
{%- for service_type, relation in staged.items() if not execute or load_relation(relation) is not none -%}
    {%- do existing.update({service_type: relation}) -%}
{%- endfor -%}
{%- if not existing and flags.WHICH in ('run', 'build') -%}
    {{ exceptions.raise_compiler_error("fact_trips: neither stg_green_tripdata nor stg_yellow_tripdata exists yet; build staging first") }}
{%- elif not existing -%}
    {#- compile, docs and the SQL linter: the model as it reads once both services are staged -#}
    {%- do existing.update(staged) -%}
{%- endif %}

with trips as (
    {%- for service_type, relation in existing.items() %}
        {% if not loop.first %}union all{% endif %}
        select *, '{{ service_type }}' as service_type from {{ relation }}
        where {{ month_window_filter('source_month') }}
    {%- endfor %}
),

zones as (
    select * from {{ ref('dim_zones') }}
    where borough != 'Unknown'
)

select
    trips.trip_id,
    trips.vendor_id,
    trips.service_type,
    trips.ratecode_id,
    trips.pickup_location_id,
    pickup_zone.borough as pickup_borough,
    pickup_zone.zone as pickup_zone,
    trips.dropoff_location_id,
    dropoff_zone.borough as dropoff_borough,
    dropoff_zone.zone as dropoff_zone,
    trips.pickup_datetime,
    trips.dropoff_datetime,
    trips.store_and_fwd_flag,
    trips.passenger_count,
    trips.trip_distance,
    trips.trip_type,
    trips.fare_amount,
    trips.extra,
    trips.mta_tax,
    trips.tip_amount,
    trips.tolls_amount,
    trips.ehail_fee,
    trips.improvement_surcharge,
    trips.total_amount,
    trips.congestion_surcharge,
    trips.airport_fee,
    trips.cbd_congestion_fee,
    trips.payment_type,
    trips.payment_type_description,
    trips.source_month
from trips
inner join zones as pickup_zone on trips.pickup_location_id = pickup_zone.location_id
inner join zones as dropoff_zone on trips.dropoff_location_id = dropoff_zone.location_id
