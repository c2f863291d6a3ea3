"""The one-host deployment at work and broken: the daemon evaluates schedules, sensors, automation and
backfills through the code server; the daemon, the code server and PostgreSQL are killed or
restarted under it. The tests run in this order on one deployment (conftest.py)."""

import contextlib
import math
import os
import shutil
import signal
import time
from datetime import timedelta

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.scheduler.instigation import InstigatorType, ScheduleInstigatorData
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from lake_assets.conform import count_raw_rows
from lake_assets.settings import PROJECT_ROOT
from tests.conftest import SAMPLE_MIRROR
from tests.deploy.conftest import LOCATION, MONTHS_PER_RUN, SCHEDULE_MONTH, SENSOR_MONTH, latest_schedule_tick
from tests.helpers import conformed_month, load_defs, monthly_keys, sha256

pytestmark = pytest.mark.deploy

SAMPLE_GREEN = SAMPLE_MIRROR / f"green/green_tripdata_{SENSOR_MONTH}.csv.gz"
# The backfills' months: the sample green 2020-10 copied under each name (made when a test needs them).
# Six are as few as prove the points: three runs of two at a time, the daemon killed with half done.
BACKFILL_MONTHS = [f"2021-{m:02d}" for m in range(1, 7)]
BACKFILL_KILLED_MONTHS = [f"2022-{m:02d}" for m in range(1, 7)]
IN_PROGRESS = (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
               DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING)
SENSORS = ("tlc_source_sensor", "lake_landing_sensor", "lakehouse_automation")
# The runs the tests launch execute their steps in the run's own process: two cores, shared.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


@pytest.fixture(scope="module")
def instance(deployment):
    """The deployment's instance, read from this process (its PostgreSQL settings from the environment)."""
    names = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB")
    saved = {n: os.environ.get(n) for n in names}
    os.environ.update({n: deployment.values[n] for n in names})
    try:
        with dg.DagsterInstance.from_config(str(deployment.home)) as inst:
            yield inst
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def materializations(instance, asset: str) -> list[dg.EventLogRecord]:
    return list(instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records)


def materialized(instance, asset: str) -> set[str]:
    return {r.partition_key for r in materializations(instance, asset) if r.partition_key}


def add_to_mirror(deployment, months: list[str], source=SAMPLE_GREEN) -> None:
    suffix = "".join(source.suffixes)
    for month in months:
        shutil.copyfile(source, deployment.mirror / f"green/green_tripdata_{month}{suffix}")


def quiesce(deployment, instance) -> None:
    """Sensors stopped and no run in progress, so that a test sees only the runs it asks for."""
    for sensor in SENSORS:
        deployment.set_sensor(sensor, running=False)
    deployment.wait_for("no run in progress", lambda: not instance.get_runs(RunsFilter(statuses=list(IN_PROGRESS))),
                        timeout=600)


def launch_run(deployment, month: str, tags: dict[str, str] | None = None) -> str:
    """Launches ingest_green for `month` through the webserver (queued; the daemon starts it)."""
    all_tags = {"dagster/partition": month, **(tags or {})}
    data = deployment.graphql(
        """mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
             __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
        {"p": {"selector": {**LOCATION, "pipelineName": "ingest_green"},
               "runConfigData": IN_PROCESS,
               "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in all_tags.items()]}}},
    )
    result = data["launchPipelineExecution"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def launch_backfill(deployment, months: list[str]) -> str:
    data = deployment.graphql(
        """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
             __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
        {"p": {"selector": {"partitionSetName": "ingest_green_partition_set", "repositorySelector": LOCATION},
               "partitionNames": months, "runConfigData": IN_PROCESS}},
    )
    result = data["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    return result["backfillId"]


def backfill_runs(instance, backfill_id: str) -> list:
    return list(instance.get_run_records(RunsFilter(tags={"dagster/backfill": backfill_id})))


def backfill_done(instance, backfill_id: str) -> bool:
    status = instance.get_backfill(backfill_id).status
    assert status not in (BulkActionStatus.FAILED, BulkActionStatus.COMPLETED_FAILED, BulkActionStatus.CANCELED), status
    return status in (BulkActionStatus.COMPLETED, BulkActionStatus.COMPLETED_SUCCESS) and not any(
        r.dagster_run.status in IN_PROGRESS for r in backfill_runs(instance, backfill_id))


def most_at_once(records) -> int:
    """The largest number of the runs that were running at the same moment."""
    edges = sorted([(r.start_time, 1) for r in records] + [(r.end_time, -1) for r in records],
                   key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def assert_each_month_materialized_once(instance, backfill_id: str, months: list[str]) -> None:
    records = backfill_runs(instance, backfill_id)
    assert sorted(r.dagster_run.tags["dagster/partition"] for r in records) == sorted(months)  # one run each
    assert {r.dagster_run.status for r in records} == {DagsterRunStatus.SUCCESS}
    run_ids = {r.dagster_run.run_id for r in records}
    for asset in ("raw_green_tripdata", "green_tripdata"):
        done = sorted(m.partition_key for m in materializations(instance, asset) if m.run_id in run_ids)
        assert done == sorted(months), asset
    assert most_at_once(records) <= 2, [(r.start_time, r.end_time) for r in records]


def test_a_schedule_tick_and_a_sensor_land_months_and_automation_builds_fact_trips(deployment, instance):
    deployment.wait_for(f"green {SENSOR_MONTH} landed by tlc_source_sensor",
                        lambda: finished(instance, RunsFilter(tags={"dagster/sensor_name": "tlc_source_sensor"})))
    deployment.set_sensor("tlc_source_sensor", running=False)  # the schedule's month is the schedule's to land

    # The monthly schedule ticks on the 15th: the daemon evaluates a tick it missed since the schedule's
    # start, so the schedule is made to have started the day before its latest tick (daemon stopped,
    # as it keeps the schedule's last iteration in memory too).
    add_to_mirror(deployment, [SCHEDULE_MONTH], SAMPLE_MIRROR / f"green/green_tripdata_{SCHEDULE_MONTH}.parquet")
    deployment.wait_for("the daemon to record the schedule's state",
                        lambda: schedule_state(instance, "monthly_green_ingest") is not None)
    deployment.kill("daemon", signal.SIGTERM)
    state = schedule_state(instance, "monthly_green_ingest")
    started = (latest_schedule_tick() - timedelta(days=1)).timestamp()
    instance.update_instigator_state(state.with_data(ScheduleInstigatorData(state.instigator_data.cron_schedule, started)))
    deployment.start("daemon")

    deployment.wait_for(f"green {SCHEDULE_MONTH} landed by monthly_green_ingest",
                        lambda: finished(instance, RunsFilter(tags={"dagster/schedule_name": "monthly_green_ingest"})))
    (scheduled,) = instance.get_runs(RunsFilter(tags={"dagster/schedule_name": "monthly_green_ingest"}))
    assert scheduled.tags["dagster/partition"] == SCHEDULE_MONTH and scheduled.status == DagsterRunStatus.SUCCESS
    assert SCHEDULE_MONTH in materialized(instance, "green_tripdata")
    (sensed,) = instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "tlc_source_sensor"}))
    assert sensed.tags["dagster/partition"] == SENSOR_MONTH and sensed.status == DagsterRunStatus.SUCCESS

    deployment.wait_for("fact_trips built by automation for both months",
                        lambda: {SENSOR_MONTH, SCHEDULE_MONTH} <= materialized(instance, "fact_trips"), timeout=600)
    for record in materializations(instance, "fact_trips"):
        run = instance.get_run_by_id(record.run_id)
        assert run.tags.get("dagster/sensor_name") == "lakehouse_automation", run.tags


def finished(instance, runs_filter: RunsFilter) -> bool:
    runs = instance.get_runs(runs_filter)
    return bool(runs) and all(r.is_finished for r in runs)


def schedule_state(instance, name: str):
    states = [s for s in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE) if s.instigator_name == name]
    return states[0] if states else None


@pytest.fixture(scope="module")
def green_backfill(deployment, instance) -> str:
    """BACKFILL_MONTHS landed and conformed by a backfill of ingest_green, for the tests that need them
    in the lake, whichever runs first; its id."""
    quiesce(deployment, instance)
    add_to_mirror(deployment, BACKFILL_MONTHS)
    backfill_id = launch_backfill(deployment, BACKFILL_MONTHS)
    deployment.wait_for("the backfill to complete", lambda: backfill_done(instance, backfill_id), timeout=600)
    return backfill_id


def test_a_backfill_runs_two_at_a_time_and_materializes_each_month_once(green_backfill, instance):
    assert_each_month_materialized_once(instance, green_backfill, BACKFILL_MONTHS)


def test_a_backfill_completes_once_when_the_daemon_is_killed_in_its_middle(deployment, instance):
    quiesce(deployment, instance)
    add_to_mirror(deployment, BACKFILL_KILLED_MONTHS)
    backfill_id = launch_backfill(deployment, BACKFILL_KILLED_MONTHS)

    def some_done() -> bool:
        done = [r for r in backfill_runs(instance, backfill_id) if r.dagster_run.status == DagsterRunStatus.SUCCESS]
        assert len(done) < len(BACKFILL_KILLED_MONTHS), "the backfill finished before the daemon could be killed"
        return len(done) >= 3

    deployment.wait_for("three runs of the backfill done", some_done, timeout=600, every=0.5)
    deployment.kill("daemon", signal.SIGKILL)
    deployment.start("daemon")
    deployment.wait_for("the backfill to complete", lambda: backfill_done(instance, backfill_id), timeout=600)
    assert_each_month_materialized_once(instance, backfill_id, BACKFILL_KILLED_MONTHS)
    assert not instance.get_runs(RunsFilter(statuses=list(IN_PROGRESS)))  # no run stuck


def test_a_backfill_of_six_months_of_the_monthly_models_is_ceil_6_over_k_dbt_invocations(
        deployment, instance, green_backfill):
    """The daemon runs a backfill of the monthly dbt models by their backfill policy: DBT_MONTHS_PER_RUN
    (4 in this tier, conftest.py) months per run, each run one dbt invocation, over the months
    green_backfill landed."""
    quiesce(deployment, instance)
    months = BACKFILL_MONTHS
    models = monthly_keys(load_defs())
    data = deployment.graphql(
        """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
             __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
        {"p": {"partitionNames": months, "assetSelection": [{"path": [key]} for key in models]}},
    )
    result = data["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    backfill_id = result["backfillId"]
    deployment.wait_for("the backfill of the monthly models to complete",
                        lambda: backfill_done(instance, backfill_id), timeout=600)
    records = backfill_runs(instance, backfill_id)
    assert len(records) == math.ceil(len(months) / MONTHS_PER_RUN)  # 2 runs, not 6
    ranges = sorted((r.dagster_run.tags["dagster/asset_partition_range_start"],
                     r.dagster_run.tags["dagster/asset_partition_range_end"]) for r in records)
    assert ranges == [("2021-01", "2021-04"), ("2021-05", "2021-06")]
    for record in records:  # one dbt invocation in each run
        invocations = list((PROJECT_ROOT / "dbt_project/target/runs").glob(
            f"*/dbt_monthly_models-{record.dagster_run.run_id[:7]}-*"))
        assert len(invocations) == 1, invocations
    run_ids = {r.dagster_run.run_id for r in records}
    assert sorted(m.partition_key for m in materializations(instance, "fact_trips") if m.run_id in run_ids) == months


def test_a_run_ends_when_the_code_server_is_killed_under_it_and_the_lake_holds_no_partial_file(deployment, instance):
    quiesce(deployment, instance)
    month = "2019-06"
    add_to_mirror(deployment, [month])
    run_id = launch_run(deployment, month, tags={"dagster/max_retries": "1"})

    def step_started() -> bool:
        return any(e.dagster_event and e.dagster_event.event_type_value == "STEP_START"
                   for e in instance.all_logs(run_id))

    deployment.wait_for("the run's first step to start", step_started, every=0.2)
    # SIGKILL to the server process: the run's worker, a process it started, is left running (on Docker or
    # Kubernetes the run is a container or a Job of its own).
    deployment.kill("code_server", signal.SIGKILL, group=False)
    deployment.start("code_server")

    def ended() -> bool:
        runs = [instance.get_run_by_id(run_id),
                *instance.get_runs(RunsFilter(tags={"dagster/parent_run_id": run_id}))]
        return runs[-1].status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE) and (
            runs[-1].status == DagsterRunStatus.SUCCESS or len(runs) > 1)

    deployment.wait_for("the run to end", ended, timeout=300)
    final = [instance.get_run_by_id(run_id), *instance.get_runs(RunsFilter(tags={"dagster/parent_run_id": run_id}))][-1]
    assert final.status == DagsterRunStatus.SUCCESS, final.status

    # What is published is whole: the raw file is the source's bytes, the conformed month has every row.
    raw = deployment.lake / f"raw/green/green_tripdata_{month}.csv.gz"
    assert sha256(raw) == sha256(SAMPLE_GREEN)
    assert conformed_month(deployment.lake, "green", "2019-06").height == count_raw_rows(raw, "csv.gz")

    # The daemon and the webserver use the restarted server: a new run completes.
    add_to_mirror(deployment, ["2019-07"])
    after = launch_run(deployment, "2019-07")
    deployment.wait_for("a run launched after the restart", lambda: instance.get_run_by_id(after).is_finished)
    assert instance.get_run_by_id(after).status == DagsterRunStatus.SUCCESS


def test_webserver_and_daemon_recover_from_a_postgres_restart_and_nothing_written_is_lost(deployment, instance):
    quiesce(deployment, instance)
    postgres = deployment.postgres
    pids = {name: p.pid for name, p in deployment.processes.items()}
    runs_before = {r.run_id: r.status for r in instance.get_runs()}
    (last_event,) = postgres.query("SELECT max(id) FROM event_logs")[0]
    events_before = postgres.query("SELECT id, run_id, event FROM event_logs ORDER BY id")

    restarted_at = time.time()
    postgres.restart()

    # The webserver keeps a pool of connections per storage: a request that draws one the restart
    # closed fails (HTTP 500) and the pool drops it. Reads of runs, events and sensor states, ten in a
    # row, go through every pool; a launch that still fails is tried again (bounded).
    def answers_in_a_row() -> bool:
        return all(_graphql_run_ids(deployment) >= set(runs_before) and _touch_every_storage(deployment)
                   for _ in range(10))

    deployment.wait_for("the webserver to answer GraphQL ten times in a row", answers_in_a_row)
    deployment.wait_for("every daemon to heartbeat after the restart",
                        lambda: _daemons_healthy_since(deployment, restarted_at), timeout=300)
    add_to_mirror(deployment, ["2019-08"])
    launched: list[str] = []
    deployment.wait_for("the webserver to launch a run", lambda: launched.append(launch_run(deployment, "2019-08")) or True)
    deployment.wait_for("a run launched after the restart", lambda: instance.get_run_by_id(launched[0]).is_finished)
    assert instance.get_run_by_id(launched[0]).status == DagsterRunStatus.SUCCESS
    month_runs = instance.get_runs(RunsFilter(tags={"dagster/partition": "2019-08"}))
    assert [r.status for r in month_runs].count(DagsterRunStatus.SUCCESS) == 1

    assert {name: p.pid for name, p in deployment.processes.items()} == pids  # none restarted
    assert all(p.poll() is None for p in deployment.processes.values())
    assert {r.run_id: r.status for r in instance.get_runs() if r.run_id in runs_before} == runs_before
    assert postgres.query("SELECT id, run_id, event FROM event_logs WHERE id <= %s ORDER BY id", (last_event,)) == events_before


def _graphql_run_ids(deployment) -> set[str]:
    data = deployment.graphql("{ runsOrError(limit: 1000) { ... on Runs { results { runId } } } }")
    return {r["runId"] for r in data["runsOrError"]["results"]}


def _touch_every_storage(deployment) -> bool:
    """A read of the event log (materializations) and of the schedule storage (sensor states)."""
    data = deployment.graphql(
        """query($key: AssetKeyInput!, $repo: RepositorySelector!) {
             assetOrError(assetKey: $key) { ... on Asset { assetMaterializations(limit: 1) { runId } } }
             repositoryOrError(repositorySelector: $repo) { ... on Repository { sensors { sensorState { status } } } } }""",
        {"key": {"path": ["green_tripdata"]}, "repo": LOCATION},
    )
    return bool(data["repositoryOrError"]["sensors"])


def _daemons_healthy_since(deployment, timestamp: float) -> bool:
    data = deployment.graphql("{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy "
                              "lastHeartbeatTime } } } }")
    statuses = [s for s in data["instance"]["daemonHealth"]["allDaemonStatuses"] if s["required"]]
    return bool(statuses) and all(s["healthy"] and (s["lastHeartbeatTime"] or 0) > timestamp for s in statuses)


def test_the_postgres_password_is_in_no_file_log_or_record_and_the_webserver_binds_loopback(deployment, instance):
    password = deployment.postgres.password
    roots = [deployment.root, deployment.postgres.root, PROJECT_ROOT / "dbt_project" / "logs",
             PROJECT_ROOT / "dbt_project" / "target"]
    leaks = []
    for root in roots:
        for path in (p for p in root.rglob("*") if p.is_file()):
            with contextlib.suppress(OSError):
                if password.encode() in path.read_bytes():
                    leaks.append(path)
    assert leaks == []
    assert (deployment.root / "logs" / "daemon.log").stat().st_size > 0  # the scan read real logs
    for table, column in (("event_logs", "event"), ("runs", "run_body"), ("job_ticks", "tick_body")):
        assert deployment.postgres.query(f"SELECT count(*) FROM {table} WHERE {column} LIKE %s",
                                         (f"%{password}%",)) == [(0,)], table
    assert _listening_addresses(deployment.web_port) == {"127.0.0.1"}


def _listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, port_hex = local.split(":")
                if state == "0A" and int(port_hex, 16) == port:
                    if len(address) == 8:
                        found.add(".".join(str(b) for b in bytes.fromhex(address)[::-1]))
                    else:
                        found.add(address)
    return found
