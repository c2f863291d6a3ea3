"""What the fault tests look at: files in the lake, rows behind the warehouse view, errors of a run."""

import hashlib
from pathlib import Path

import dagster as dg

from tests.helpers import query


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(lake: Path) -> dict[str, str]:
    """Every published file of the lake (the .tmp staging area excluded), with its sha256."""
    return {str(p.relative_to(lake)): digest(p) for p in sorted(lake.rglob("*"))
            if p.is_file() and ".tmp" not in p.relative_to(lake).parts}


def staging_debris(lake: Path) -> list[Path]:
    return list((lake / ".tmp").glob("*")) if (lake / ".tmp").exists() else []


def view_rows(duckdb_path: Path, service: str = "green") -> list[tuple]:
    return query(duckdb_path, f"select year, month, count(*) from lake.ext_{service}_tripdata group by all order by all")


def step_errors(result: dg.ExecuteInProcessResult) -> str:
    return " | ".join(str(e.event_specific_data.error) for e in result.all_events if e.is_step_failure)
