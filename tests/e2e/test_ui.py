"""The UI: a run launched through the GraphQL API, and the asset graph in a real headless Chromium."""

import shutil

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.e2e

LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]


def test_a_run_launched_through_graphql_succeeds(dagster_dev):
    params = {"selector": {"repositoryLocationName": "lake_assets.definitions", "repositoryName": "__repository__",
                           "jobName": "__ASSET_JOB", "assetSelection": [{"path": ["ext_fhv_tripdata"]}]}}
    launched = dagster_dev.graphql(LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    statuses = []

    def finished() -> bool:
        statuses.append(dagster_dev.graphql(STATUS, {"id": run_id})["runOrError"]["status"])
        return statuses[-1] in ("SUCCESS", "FAILURE", "CANCELED")

    dagster_dev.wait_for(f"run {run_id}", finished, timeout=300)
    assert statuses[-1] == "SUCCESS"


def test_the_asset_graph_renders_in_chromium(dagster_dev, tmp_path):
    screenshot = dagster_dev.root / "asset_graph.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            # The graph of the conformed group, with its upstream and downstream assets around it.
            page.goto(f"{dagster_dev.url}/locations/lake_assets.definitions/asset-groups/conformed",
                      wait_until="domcontentloaded", timeout=120_000)
            page.get_by_text("stg_green_tripdata").first.wait_for(timeout=120_000)
            try:  # a fresh instance greets with a "Join the Dagster community" dialog, a little later
                page.get_by_role("button", name="Skip").click(timeout=20_000)
            except PlaywrightTimeout:
                pass
            page.get_by_text("Join the Dagster community").wait_for(state="hidden", timeout=20_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(screenshot))
            content = page.content()
        finally:
            browser.close()
    # the conformed assets' neighbours: the raw files before, the external tables and staging (which
    # reads each conformed month) after
    for name in ("raw_green_tripdata", "green_tripdata", "yellow_tripdata", "fhv_tripdata", "ext_green_tripdata",
                 "stg_green_tripdata", "stg_fhv_tripdata"):
        assert name in content, name
    assert "Join the Dagster community" not in content
    assert screenshot.stat().st_size > 10_000
    shutil.copyfile(screenshot, tmp_path / "asset_graph.png")
