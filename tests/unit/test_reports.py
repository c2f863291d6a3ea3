"""mart_charts draws the mart's rows: on a real DuckDB mart, change the rows and the charts change."""

import re

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from lake_assets.assets.reports import (
    REPORTS_PREFIX,
    charted_months,
    mart_charts,
    monthly_chart,
    read_monthly,
    read_zones,
    top_zones,
    zones_chart,
)
from lake_assets.lake import LocalLake
from lake_assets.resources import LakeResource
from lake_assets.warehouse import DuckDBWarehouse

MART_DDL = """
create schema if not exists marts;
create or replace table marts.dm_monthly_zone_revenue (
    revenue_zone varchar, revenue_month timestamp, service_type varchar,
    revenue_monthly_fare double, revenue_monthly_extra double, revenue_monthly_mta_tax double,
    revenue_monthly_tip_amount double, revenue_monthly_tolls_amount double, revenue_monthly_ehail_fee double,
    revenue_monthly_improvement_surcharge double, revenue_monthly_total_amount double,
    total_monthly_trips bigint, avg_monthly_passenger_count double, avg_monthly_trip_distance double);
create or replace table marts.dm_monthly_service_revenue (
    revenue_month timestamp, service_type varchar, total_monthly_trips bigint, revenue_monthly_total_amount double)
"""


def write_mart(path, rows: list[tuple[str, str, str, float, int]]) -> None:
    """rows: (zone, month YYYY-MM, service, total_amount, trips) of dm_monthly_zone_revenue; with
    dm_monthly_service_revenue made from them as dbt makes it (its dbt unit test checks that sum)."""
    with duckdb.connect(str(path)) as conn:
        conn.execute(MART_DDL)
        for zone, month, service, revenue, trips in rows:
            conn.execute("insert into marts.dm_monthly_zone_revenue (revenue_zone, revenue_month, service_type, "
                         "revenue_monthly_total_amount, total_monthly_trips) values (?, ?, ?, ?, ?)",
                         [zone, f"{month}-01 00:00:00", service, revenue, trips])
        conn.execute("insert into marts.dm_monthly_service_revenue select revenue_month, service_type, "
                     "sum(total_monthly_trips), sum(revenue_monthly_total_amount) "
                     "from marts.dm_monthly_zone_revenue group by 1, 2")


@pytest.fixture
def mart(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    resources = {"warehouse": DuckDBWarehouse(duckdb=DuckDBResource(database=str(path))),
                 "lake": LakeResource(url=str(tmp_path / "lake"))}
    return path, resources


def materialize(resources) -> dict:
    result = dg.materialize([mart_charts], resources=resources)
    assert result.success
    return result.asset_materializations_for_node("mart_charts")[0].metadata


def svg_texts(svg: bytes) -> list[str]:
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg.decode()) if t.strip()]


def test_the_charts_are_drawn_from_the_marts_rows_and_change_with_them(mart, tmp_path):
    path, resources = mart
    write_mart(path, [
        ("JFK Airport", "2021-01", "Yellow", 5000.0, 100), ("Astoria", "2021-01", "Green", 800.0, 40),
        ("JFK Airport", "2021-02", "Yellow", 6000.0, 110), ("Astoria", "2021-02", "Green", 900.0, 45),
        ("Harlem", "2021-02", "Green", 1200.0, 60),
        ("Astoria", "2009-01", "Green", 10.0, 1),  # a wrong clock: a stray pickup month, not drawn
    ])
    metadata = materialize(resources)
    lake = LocalLake(tmp_path / "lake")
    monthly = lake._path(f"{REPORTS_PREFIX}/revenue_and_trips_by_month.svg").read_bytes()
    zones = lake._path(f"{REPORTS_PREFIX}/top_pickup_zones_latest_month.svg").read_bytes()
    assert {"2021-01", "2021-02", "Revenue (USD, total_amount)", "Trips", "Green", "Yellow"} <= set(svg_texts(monthly))
    assert "2009-01" not in svg_texts(monthly)
    assert "Top 3 pickup zones by revenue, 2021-02" in svg_texts(zones)
    assert "JFK Airport" in svg_texts(zones) and "Harlem" in svg_texts(zones)
    assert metadata["latest_month"].value == "2021-02"
    assert metadata["revenue_latest_month"].value == 8100.0
    assert metadata["stray_pickup_months"].value == {"2009-01 Green": 1}
    assert "data:image/svg+xml;base64," in metadata["revenue_and_trips_by_month"].value

    # Other rows: a new latest month whose zones are others; the charts follow.
    write_mart(path, [
        ("JFK Airport", "2021-02", "Yellow", 6000.0, 110),
        ("Park Slope", "2021-03", "Green", 700.0, 30), ("LaGuardia Airport", "2021-03", "Yellow", 9000.0, 150),
    ])
    metadata = materialize(resources)
    monthly = lake._path(f"{REPORTS_PREFIX}/revenue_and_trips_by_month.svg").read_bytes()
    zones = lake._path(f"{REPORTS_PREFIX}/top_pickup_zones_latest_month.svg").read_bytes()
    assert {"2021-02", "2021-03"} <= set(svg_texts(monthly)) and "2021-01" not in svg_texts(monthly)
    assert "Top 2 pickup zones by revenue, 2021-03" in svg_texts(zones)
    assert "LaGuardia Airport" in svg_texts(zones) and "JFK Airport" not in svg_texts(zones)
    assert metadata["revenue_latest_month"].value == 9700.0


def test_the_plotted_values_are_the_marts_sums(mart):
    path, resources = mart
    write_mart(path, [
        ("JFK Airport", "2021-01", "Yellow", 5000.0, 100), ("Midtown Center", "2021-01", "Yellow", 3000.0, 90),
        ("Astoria", "2021-01", "Green", 800.0, 40), ("Astoria", "2021-02", "Green", 900.0, 45),
        ("JFK Airport", "2021-02", "Yellow", 6500.0, 120), ("Astoria", "2021-02", "Yellow", 100.0, 5),
    ])
    warehouse = resources["warehouse"]
    monthly, stray = charted_months(read_monthly(warehouse))
    assert stray == []
    fig = monthly_chart(monthly)
    revenue_ax, trips_ax = fig.axes
    lines = {line.get_label(): line for line in revenue_ax.lines}
    assert list(lines["Yellow"].get_ydata()) == [8000.0, 6600.0]
    assert list(lines["Green"].get_ydata()) == [800.0, 900.0]
    assert [list(line.get_ydata()) for line in trips_ax.lines] == [[40, 45], [190, 125]]  # Green, then Yellow

    ranked = top_zones(read_zones(warehouse, "2021-02"))
    assert [zone for zone, _ in ranked] == ["JFK Airport", "Astoria"]
    ax = zones_chart("2021-02", ranked).axes[0]
    # One bar series per service, stacked; zones from the bottom up: Astoria, then JFK Airport on top.
    widths = {bars.get_label(): [bar.get_width() for bar in bars] for bars in ax.containers}
    assert widths == {"Green": [900.0, 0.0], "Yellow": [100.0, 6500.0]}
