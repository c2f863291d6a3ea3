"""mart_charts: the marts as a person would rather look at them, drawn into the lake and the asset's page.

Drawn from the small marts dbt builds for them, dm_monthly_service_revenue (month by month) and
dm_monthly_zone_revenue (the zones of the latest month), never from fact_trips (tens of millions of rows a
year); the sums are dbt's, this module only picks the rows to draw. Read through the warehouse resource
(DuckDB locally, BigQuery on the gcp target), drawn with matplotlib's object-oriented API (a Figure without
pyplot: no backend, display or global state; imported when the asset runs, not when the code location
loads), as SVG whose text stays text, written to the lake.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from lake_assets.asset_keys import MART_CHARTS, SERVICE_REVENUE_MART, ZONE_REVENUE_MART
from lake_assets.automation.conditions import on_upstream_update
from lake_assets.graph_names import MARTS_GROUP, WAREHOUSE_POOL
from lake_assets.project import model_table
from lake_assets.resources import LakeResource
from lake_assets.warehouse import WarehouseResource

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORTS_PREFIX = "reports/mart_charts"
TOP_ZONES = 10
# The mart counts trips by pickup month, and a month's file holds a few trips with wrong clocks (pickups
# years before or after it). A service's month is charted when it holds at least this share of the
# service's busiest month; the trips of the others are counted in the metadata, not drawn.
MIN_SHARE_OF_BUSIEST_MONTH = 0.01
REVENUE_AXIS = "Revenue (USD, total_amount)"
TRIPS_AXIS = "Trips"
SERVICE_COLORS = {"Green": "#2e8b57", "Yellow": "#e0a800", "FHV": "#4c6ef5", "FHVHV": "#7b2cbf"}

# Written once for DuckDB and BigQuery: a date or timestamp cast to string starts with YYYY-MM on both.
MONTH_SQL = "substr(cast(revenue_month as string), 1, 7)"


def monthly_sql() -> str:
    return f"""
select {MONTH_SQL}, service_type, total_monthly_trips, revenue_monthly_total_amount
from {model_table(SERVICE_REVENUE_MART)}
order by 1, 2
"""


def zones_sql(month: str) -> str:
    # one row per zone, month and service: the mart's grain
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise ValueError(f"month {month!r} is not YYYY-MM")
    return f"""
select revenue_zone, service_type, total_monthly_trips, revenue_monthly_total_amount
from {model_table(ZONE_REVENUE_MART)}
where {MONTH_SQL} = '{month}'
"""


@dataclass(frozen=True)
class MonthlyRow:
    month: str  # YYYY-MM
    service: str
    trips: int
    revenue: float


@dataclass(frozen=True)
class ZoneRow:
    zone: str
    service: str
    trips: int
    revenue: float


def charted_months(rows: list[MonthlyRow]) -> tuple[list[MonthlyRow], list[MonthlyRow]]:
    """(rows charted, rows of stray pickup months left out): see MIN_SHARE_OF_BUSIEST_MONTH."""
    busiest: dict[str, int] = {}
    for row in rows:
        busiest[row.service] = max(busiest.get(row.service, 0), row.trips)
    kept = [r for r in rows if r.trips >= MIN_SHARE_OF_BUSIEST_MONTH * busiest[r.service]]
    return kept, [r for r in rows if r not in kept]


def top_zones(rows: list[ZoneRow], n: int = TOP_ZONES) -> list[tuple[str, dict[str, ZoneRow]]]:
    """The n zones with the most revenue (all services together), highest first, with each service's row."""
    by_zone: dict[str, dict[str, ZoneRow]] = {}
    for row in rows:
        by_zone.setdefault(row.zone, {})[row.service] = row
    ranked = sorted(by_zone.items(), key=lambda item: (-sum(r.revenue for r in item[1].values()), item[0]))
    return ranked[:n]


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:,.0f}")


def _services(services: set[str]) -> list[str]:
    return sorted(services, key=lambda s: (list(SERVICE_COLORS).index(s) if s in SERVICE_COLORS else 99, s))


def monthly_chart(rows: list[MonthlyRow]) -> Figure:
    """Revenue (top) and trips (bottom) per pickup month, one line per service."""
    from matplotlib.figure import Figure

    months = sorted({r.month for r in rows})
    x = {m: i for i, m in enumerate(months)}
    fig = Figure(figsize=(10, 6.5), layout="constrained")
    revenue_ax, trips_ax = fig.subplots(2, 1, sharex=True)
    for service in _services({r.service for r in rows}):
        series = sorted((r for r in rows if r.service == service), key=lambda r: r.month)
        xs = [x[r.month] for r in series]
        style = {"marker": "o", "markersize": 3, "label": service, "color": SERVICE_COLORS.get(service)}
        revenue_ax.plot(xs, [r.revenue for r in series], **style)
        trips_ax.plot(xs, [r.trips for r in series], **style)
    revenue_ax.set_title("Revenue and trips per month by service")
    revenue_ax.set_ylabel(REVENUE_AXIS)
    trips_ax.set_ylabel(TRIPS_AXIS)
    trips_ax.set_xlabel("Pickup month")
    step = max(1, len(months) // 24)  # at most ~24 month labels
    trips_ax.set_xticks(range(0, len(months), step), months[::step], rotation=45, ha="right")
    for ax in (revenue_ax, trips_ax):
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_formatter(_thousands())
    revenue_ax.legend(title="Service")
    return fig


def zones_chart(month: str, ranked: list[tuple[str, dict[str, ZoneRow]]]) -> Figure:
    """Revenue of the top pickup zones of one month, stacked by service, with the zone's trips beside."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.subplots()
    zones = [zone for zone, _ in ranked][::-1]  # highest on top
    left = [0.0] * len(zones)
    for service in _services({s for _, by_service in ranked for s in by_service}):
        widths = [by_service[service].revenue if service in by_service else 0.0 for _, by_service in ranked][::-1]
        ax.barh(zones, widths, left=left, label=service, color=SERVICE_COLORS.get(service))
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for y, (total, (_, by_service)) in enumerate(zip(left, ranked[::-1], strict=True)):
        trips = sum(r.trips for r in by_service.values())
        ax.annotate(f" {trips:,} trips", (total, y), va="center", fontsize=8)
    ax.set_title(f"Top {len(zones)} pickup zones by revenue, {month}")
    ax.set_xlabel(REVENUE_AXIS)
    ax.set_ylabel("Pickup zone")
    ax.xaxis.set_major_formatter(_thousands())
    ax.margins(x=0.15)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(title="Service", loc="lower right")
    return fig


def svg_bytes(fig: Figure) -> bytes:
    """The figure as SVG with its text kept as text, the same bytes for the same chart."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "mart_charts"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def markdown_image(title: str, svg: bytes) -> dg.MetadataValue:
    # The UI renders Markdown metadata and lets images have data: URIs.
    return dg.MetadataValue.md(f"![{title}](data:image/svg+xml;base64,{base64.b64encode(svg).decode()})")


def read_monthly(warehouse: WarehouseResource) -> list[MonthlyRow]:
    return [MonthlyRow(m, s, int(t), float(r or 0.0)) for m, s, t, r in warehouse.query(monthly_sql())]


def read_zones(warehouse: WarehouseResource, month: str) -> list[ZoneRow]:
    return [ZoneRow(z, s, int(t), float(r or 0.0)) for z, s, t, r in warehouse.query(zones_sql(month))]


@dg.asset(
    key=MART_CHARTS,
    deps=[SERVICE_REVENUE_MART, ZONE_REVENUE_MART],
    group_name=MARTS_GROUP,
    kinds={"duckdb", "bigquery"},
    description=(
        "Charts of the marts: revenue and trips per month by service (`dm_monthly_service_revenue`), and the "
        f"top {TOP_ZONES} pickup zones of the latest month (`dm_monthly_zone_revenue`); SVG files in the lake "
        f"under `{REPORTS_PREFIX}/`, "
        "and shown here (metadata, *Show Markdown*)."
    ),
    automation_condition=on_upstream_update(),
    pool=WAREHOUSE_POOL,
)
def mart_charts(warehouse: WarehouseResource, lake: LakeResource) -> dg.MaterializeResult:
    monthly, stray = charted_months(read_monthly(warehouse))
    if not monthly:
        raise dg.Failure(f"{model_table(SERVICE_REVENUE_MART)} has no rows to chart: build the marts first.")
    latest = max(r.month for r in monthly)
    charts = {
        "revenue_and_trips_by_month": monthly_chart(monthly),
        "top_pickup_zones_latest_month": zones_chart(latest, top_zones(read_zones(warehouse, latest))),
    }
    the_lake = lake.get_lake()
    metadata: dict[str, dg.RawMetadataValue] = {}
    for name, fig in charts.items():
        svg = svg_bytes(fig)
        key = f"{REPORTS_PREFIX}/{name}.svg"
        with the_lake.writer(key) as tmp:
            tmp.write_bytes(svg)
        metadata[name] = markdown_image(name.replace("_", " "), svg)
        metadata[f"{name}_uri"] = dg.MetadataValue.path(the_lake.uri(key))
    latest_revenue = sum(r.revenue for r in monthly if r.month == latest)
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "latest_month": latest,
            "months": len({r.month for r in monthly}),
            # One number per materialization: the UI plots numeric metadata over time.
            "revenue_latest_month": round(latest_revenue, 2),
            "stray_pickup_months": dg.MetadataValue.json(
                {f"{r.month} {r.service}": r.trips for r in stray}),
        }
    )
