"""What a user sees on the asset pages, in the real webserver and headless Chromium: fact_trips' columns
with their types, a dbt model's row count, the charts of the marts, and a month that is late.

The automation of the tier's `dagster dev` builds green 2020-10 (the mirror's one month at the start) up to
mart_charts. The month the freshness check expects (2024-01, or 2023-12 before the 16th) is never built
in the tier, whatever months test_daemon_automation.py adds, so the modules run in either order.
"""

import base64
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest
from PIL import Image
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from lake_assets.assets.reports import REVENUE_AXIS, TRIPS_AXIS
from lake_assets.catalog import Month
from lake_assets.freshness import FRESHNESS_TIMEZONE
from tests.e2e.test_ui import CHROMIUM_FLAGS, LAUNCH, STATUS
from tests.helpers import query

pytestmark = pytest.mark.e2e

DBT_TYPE_NAMES = {"VARCHAR": "character varying(256)"}
BUILT = """query($key: AssetKeyInput!) { assetOrError(assetKey: $key) {
  ... on Asset { assetMaterializations(limit: 1) { runId metadataEntries { label } } } } }"""


@pytest.fixture(scope="module")
def charts_built(dagster_dev):
    """The automation has built green 2020-10 through fact_trips, the mart and its charts."""
    dagster_dev.wait_for("fact_trips 2020-10 built by automation",
                         lambda: "2020-10" in dagster_dev.materialized_partitions("fact_trips"), timeout=600)
    dagster_dev.wait_for("mart_charts built by automation", lambda: _materialized(dagster_dev, "mart_charts"),
                         timeout=600)
    return dagster_dev


def _materialized(dev, asset: str) -> bool:
    return bool(dev.graphql(BUILT, {"key": {"path": [asset]}})["assetOrError"].get("assetMaterializations"))


@contextmanager
def browser_page(dev) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1200})
            yield page
        finally:
            browser.close()


def open_asset(page: Page, dev, path: str, ready_text: str) -> None:
    page.goto(f"{dev.url}/assets/{path}", wait_until="domcontentloaded", timeout=120_000)
    try:  # a fresh instance greets with a "Join the Dagster community" dialog
        page.get_by_role("button", name="Skip").click(timeout=5_000)
    except PlaywrightTimeout:
        pass
    page.get_by_text(ready_text, exact=True).first.wait_for(timeout=120_000)


def test_fact_trips_page_lists_every_column_with_its_type(charts_built):
    dev = charts_built
    columns = _warehouse_columns(dev, "core", "fact_trips")
    assert len(columns) == 30
    with browser_page(dev) as page:
        open_asset(page, dev, "fact_trips", "Columns")
        table = page.locator("table", has_text="Column name").first
        table.get_by_text("payment_type_description", exact=True).wait_for(timeout=60_000)
        cells = [row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all()]
        page.screenshot(path=str(dev.root / "fact_trips_columns.png"), full_page=True)
    shown = {c[0].strip(): (c[1].strip(), c[2].strip()) for c in cells if len(c) >= 3}
    # The types dbt's adapter reports for the table: DuckDB's, with VARCHAR as dbt names it.
    expected = {name: DBT_TYPE_NAMES.get(data_type, data_type) for name, data_type in columns.items()}
    assert {name: type_ for name, (type_, _) in shown.items()} == expected
    undescribed = [name for name, (_, description) in shown.items() if not description]
    assert not undescribed  # every column is described, from dbt's doc blocks
    assert shown["trip_distance"][1] == "The elapsed trip distance in miles reported by the taximeter."


def test_a_dbt_model_shows_its_row_count(charts_built):
    dev = charts_built
    with browser_page(dev) as page:
        open_asset(page, dev, "dim_zones", "Row count")
        status = page.locator("text=Row count").first.locator("xpath=..").inner_text()
    assert "265" in status  # the TLC's zone lookup: 265 zones


def test_the_chart_of_the_marts_renders_on_its_page(charts_built):
    dev = charts_built
    shot = dev.root / "revenue_and_trips_by_month.png"
    with browser_page(dev) as page:
        open_asset(page, dev, "mart_charts", "Metadata")
        row = page.locator("tr", has_text="revenue_and_trips_by_month").first
        row.get_by_text("[Show Markdown]").click()
        image = page.locator("img[alt='revenue and trips by month']").first
        image.wait_for(timeout=60_000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(),
                               timeout=60_000)
        image.screenshot(path=str(shot))
        src = image.get_attribute("src")
    # The chart is drawn: a real picture, not a blank box.
    pixels = Image.open(shot).convert("RGB")
    assert pixels.width > 400 and pixels.height > 250
    colors = pixels.getcolors(maxcolors=1 << 20)
    assert len(colors) > 20
    not_white = sum(count for count, rgb in colors if min(rgb) < 200)
    assert not_white > 0.01 * pixels.width * pixels.height
    # Its own text is on the page: the image the page holds is the SVG, with the axis titles as text.
    assert src.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(src.split(",", 1)[1]).decode()
    texts = set(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    assert {REVENUE_AXIS, TRIPS_AXIS, "Pickup month", "2020-10", "Green"} <= {t.strip() for t in texts}
    assert (dev.lake / "reports/mart_charts/revenue_and_trips_by_month.svg").read_text() == svg


def test_a_late_month_is_flagged_on_fact_trips(charts_built):
    dev = charts_built
    late = _month_due(dev)
    assert late not in dev.materialized_partitions("fact_trips")
    # Run the freshness check now, as the UI's Execute button does (freshness_checks_sensor runs it too).
    params = {"selector": {"repositoryLocationName": "lake_assets.definitions", "repositoryName": "__repository__",
                           "jobName": "__ASSET_JOB", "assetSelection": [],
                           "assetCheckSelection": [{"assetKey": {"path": ["fact_trips"]}, "name": "freshness_check"}]}}
    launched = dev.graphql(LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    dev.wait_for(f"freshness check run {run_id}",
                 lambda: dev.graphql(STATUS, {"id": run_id})["runOrError"]["status"] in ("SUCCESS", "FAILURE"))
    with browser_page(dev) as page:
        open_asset(page, dev, "fact_trips?view=checks&checkDetail=freshness_check", "Latest execution")
        page.get_by_text(f"We expected partition {late} to have arrived", exact=False).first.wait_for(timeout=120_000)
        page.screenshot(path=str(dev.root / "fact_trips_freshness.png"), full_page=True)
        latest = page.get_by_text("Evaluation result", exact=True).first.locator("xpath=..").inner_text()
    assert "Failed" in latest


def _month_due(dev) -> str:
    """The newest month due at the last deadline (the 16th, 06:00 New York), with the tier's publication lag."""
    now = datetime.now(ZoneInfo(FRESHNESS_TIMEZONE))
    deadline = Month(now.year, now.month) if (now.day, now.hour) >= (16, 6) else Month(now.year, now.month).shift(-1)
    return deadline.shift(-dev.publication_lag_months).key


def _warehouse_columns(dev, schema: str, table: str) -> dict[str, str]:
    sql = ("select column_name, data_type from information_schema.columns "
           f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position")
    result: dict[str, str] = {}

    def read() -> bool:
        try:
            result.update(dict(query(dev.duckdb, sql)))
            return True
        except duckdb.Error:  # a run is writing the warehouse (one writer): try again
            return False

    dev.wait_for("the warehouse to read", read, timeout=300)
    return result

