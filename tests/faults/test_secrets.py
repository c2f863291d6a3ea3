"""Credentials in settings never reach logs, run metadata, resource config or error text."""

import base64

import dagster as dg
import pytest

from lake_assets.resources import build_resources
from lake_assets.settings import SettingsError, load_settings
from tests.helpers import load_defs, materialize

pytestmark = pytest.mark.faults

SECRET = "s3cr3t-T0KEN-do-not-leak"
PATH = "/green/green_tripdata_2023-12.parquet"


def everything_a_run_left(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> str:
    run = instance.get_run_by_id(result.run_id)
    logs = instance.all_logs(result.run_id)
    return "\n".join([repr(run), *(repr(entry) for entry in logs), *(e.message or "" for e in result.all_events)])


def test_source_credentials_are_used_but_never_shown(lakehouse_env, faulty_source, fast_retries, monkeypatch, tmp_path):
    faulty_source.basic_auth = "Basic " + base64.b64encode(f"taxi:{SECRET}".encode()).decode()
    monkeypatch.setenv(
        "TLC_SOURCE_URL", faulty_source.url.replace("http://", f"http://taxi:{SECRET}@")
        + "/{service}/{service}_tripdata_{year}-{month}.parquet")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / f"{SECRET}.json"))
    with dg.instance_for_test() as instance:
        ok = materialize(load_defs(), ["raw_green_tripdata", "green_tripdata"], partition_key="2023-12",
                         instance=instance)
        assert ok.success  # the credentials were sent: the source answers 401 without them
        metadata = ok.get_asset_materialization_events()[0].materialization.metadata
        assert metadata["source_url"].value.startswith("http://***@127.0.0.1:")

        faulty_source.faults[PATH] = ["500"]
        failed = materialize(load_defs(), ["raw_green_tripdata"], partition_key="2023-12", instance=instance,
                             raise_on_error=False)
        assert not failed.success
        for result in (ok, failed):
            text = everything_a_run_left(instance, result)
            assert "http://***@127.0.0.1" in text
            assert SECRET not in text
    assert SECRET not in repr(build_resources(load_settings()))


def test_settings_errors_do_not_quote_credentials():
    with pytest.raises(SettingsError) as excinfo:
        load_settings({"TLC_SOURCE_URL": f"https://taxi:{SECRET}@mirror.example/{{service}}.json"})
    assert SECRET not in str(excinfo.value) and "https://***@mirror.example" in str(excinfo.value)
