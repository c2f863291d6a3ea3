-- The seed keeps the TLC's own header (LocationID, Borough, Zone); the model names them in snake_case.
select
    cast(LocationID as {{ type_int() }}) as location_id,
    Borough as borough,
    Zone as zone,
    replace(service_zone, 'Boro', 'Green') as service_zone
from {{ ref('taxi_zone_lookup') }}
