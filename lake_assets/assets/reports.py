"""monthly_revenue_by_borough: the marts as a person would rather look at them, in the asset's metadata."""

import dagster as dg

from lake_assets.assets.dbt import WAREHOUSE_POOL
from lake_assets.automation.conditions import on_upstream_update
from lake_assets.warehouse import WarehouseResource

# Written once for DuckDB and BigQuery: a timestamp cast to string starts with YYYY-MM on both.
REVENUE_BY_BOROUGH_SQL = """
select substr(cast(pickup_datetime as string), 1, 7) as month, pickup_borough as borough,
       service_type, count(*) as trips, round(sum(total_amount), 2) as revenue
from core.fact_trips
group by 1, 2, 3
order by 1, 2, 3
"""


def markdown_table(header: list[str], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(f"{v:,}" if isinstance(v, int | float) else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


@dg.asset(
    deps=[dg.AssetKey("fact_trips")],
    group_name="marts",
    kinds={"duckdb", "bigquery"},
    description="Trips and revenue by pickup month, borough and service, as a table in the UI.",
    automation_condition=on_upstream_update(),
    pool=WAREHOUSE_POOL,
)
def monthly_revenue_by_borough(warehouse: WarehouseResource) -> dg.MaterializeResult:
    rows = warehouse.query(REVENUE_BY_BOROUGH_SQL)
    by_month: dict[str, float] = {}
    for month, _, _, _, revenue in rows:
        by_month[month] = by_month.get(month, 0.0) + (revenue or 0.0)
    return dg.MaterializeResult(
        metadata={
            "revenue_by_borough": dg.MetadataValue.md(
                markdown_table(["month", "borough", "service", "trips", "revenue"], rows)),
            "dagster/row_count": len(rows),
            # One number per month: the UI plots numeric metadata over materializations.
            "total_revenue_latest_month": round(by_month[max(by_month)], 2) if by_month else 0.0,
            "months": len(by_month),
        }
    )
