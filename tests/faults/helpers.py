"""What the fault tests look at: files in the lake and rows behind the warehouse view."""

from pathlib import Path

from tests.helpers import query, sha256


def snapshot(lake: Path) -> dict[str, str]:
    """Every published file of the lake (the .tmp staging area excluded), with its sha256."""
    return {str(p.relative_to(lake)): sha256(p) for p in sorted(lake.rglob("*"))
            if p.is_file() and ".tmp" not in p.relative_to(lake).parts}


def staging_debris(lake: Path) -> list[Path]:
    return list((lake / ".tmp").glob("*")) if (lake / ".tmp").exists() else []


def view_rows(duckdb_path: Path, service: str = "green") -> list[tuple]:
    return query(duckdb_path, f"select year, month, count(*) from lake.ext_{service}_tripdata group by all order by all")
