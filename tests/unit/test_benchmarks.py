"""The benchmark's variants do the same work: each turns the real green 2020-10 month into Parquet with
every row and the same values, so the figures `make bench` compares are of like against like. (The bare
polars baseline is the issue's plain `scan_csv -> sink_parquet`: it keeps timestamps as the text it read.)"""

import json
import subprocess
import sys

import polars as pl
import pytest

from lake_assets.checksum import sha256_of
from lake_assets.conform import count_raw_rows
from lake_assets.settings import PROJECT_ROOT
from tests.conftest import GREEN_2020_10

VARIANTS_PY = PROJECT_ROOT / "benchmarks" / "variants.py"
CONFORMING = ["project", "project_recount", "pandas_course", "duckdb_copy", "polars_bare"]


def run_variant(variant: str, src, out, *flags: str) -> dict:
    done = subprocess.run([sys.executable, str(VARIANTS_PY), variant, str(src), str(out), *flags],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def green_input(tmp_path_factory, shared_tlc):
    """The real month beside what the landing step records for it (the project variant reads that)."""
    src = tmp_path_factory.mktemp("bench") / GREEN_2020_10.name
    src.symlink_to(GREEN_2020_10)
    landed = {"sha256": sha256_of(src), "rows": count_raw_rows(src, "csv.gz")}
    (src.parent / f"{src.name}.landed.json").write_text(json.dumps(landed))
    return src


@pytest.mark.parametrize("variant", CONFORMING)
def test_every_variant_writes_every_row_with_the_same_values(variant, green_input, tmp_path):
    out = tmp_path / "out.parquet"
    result = run_variant(variant, green_input, out)

    written = pl.read_parquet(out)
    if written.schema["lpep_pickup_datetime"] == pl.String:
        assert variant == "polars_bare"
        written = written.with_columns(pl.col("lpep_pickup_datetime").str.to_datetime(time_unit="us"))
    assert result["rows"] == written.height == 95_120
    assert result["seconds"] > 0 and result["peak_mib"] > 0
    totals = written.select(
        pl.col("total_amount").cast(pl.Float64).sum(),
        pl.col("PULocationID").cast(pl.Int64).sum(),
        pl.col("lpep_pickup_datetime").cast(pl.Datetime("us")).min().alias("first"),
        pl.col("lpep_pickup_datetime").cast(pl.Datetime("us")).max().alias("last"),
    ).row(0)
    source = pl.read_csv(GREEN_2020_10, infer_schema=False).select(
        pl.col("total_amount").cast(pl.Float64).sum(),
        pl.col("PULocationID").cast(pl.Int64).sum(),
        pl.col("lpep_pickup_datetime").str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us").min().alias("first"),
        pl.col("lpep_pickup_datetime").str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us").max().alias("last"),
    ).row(0)
    assert totals[0] == pytest.approx(source[0], rel=1e-12)
    assert totals[1:] == source[1:]


def test_gunzip_only_counts_the_rows_it_decompresses(green_input, tmp_path):
    assert run_variant("gunzip_only", green_input, tmp_path / "unused")["rows"] == 95_120


def test_the_rss_trace_samples_the_whole_run(green_input, tmp_path):
    result = run_variant("project", green_input, tmp_path / "out.parquet", "--trace-rss")

    times = [t for t, _ in result["rss_trace"]]
    assert len(times) >= 3 and times == sorted(times) and times[-1] <= result["seconds"] + 0.05
    # The samples stay within the high-water mark the child reports at its end. Both figures come from
    # the kernel's per-CPU RSS counters, which are approximate (by up to a batch of pages per CPU):
    # a sample may read a fraction of a MiB above the mark.
    assert 0 < max(mib for _, mib in result["rss_trace"]) <= result["peak_mib"] + 1
