-- The seed keeps the TLC's own header (LocationID, Borough, Zone); the model names them in snake_case.
-- The aliases change only the case, on purpose: DuckDB keeps a column's case unless it is aliased.
select
    cast(LocationID as {{ type_int() }}) as location_id,
    Borough as borough,  -- noqa: AL09
    Zone as zone,  -- noqa: AL09, RF04
    replace(service_zone, 'Boro', 'Green') as service_zone
from {{ ref('taxi_zone_lookup') }}
