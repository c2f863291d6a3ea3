select
    pickup_zone as revenue_zone,
    {{ dbt.date_trunc('month', 'pickup_datetime') }} as revenue_month,
    hvfhs_license_num,
    company,

    count(tripid) as total_monthly_trips,
    sum(base_passenger_fare) as revenue_monthly_base_passenger_fare,
    sum(base_passenger_fare + coalesce(tolls, 0) + coalesce(bcf, 0) + coalesce(sales_tax, 0)
        + coalesce(congestion_surcharge, 0) + coalesce(airport_fee, 0) + coalesce(cbd_congestion_fee, 0))
        as revenue_monthly_passenger_fare_total,
    sum(tips) as revenue_monthly_tips,
    sum(driver_pay) as monthly_driver_pay,
    avg(trip_miles) as avg_monthly_trip_miles
from {{ ref('fact_fhvhv_trips') }}
group by 1, 2, 3, 4
