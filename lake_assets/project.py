"""The dbt project, as Dagster sees it (DbtProject), and when its manifest is prepared.

As dagster-dbt documents: the manifest is built before the code loads (`make manifest` runs
`dagster-dbt project prepare-and-package` whenever a file of the dbt project is newer than it; the
Docker image runs it at build time), and under `dagster dev` it is rebuilt here when a file changed.
"""

import json
from functools import cache

import dagster as dg
from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from lake_assets.settings import DBT_PROJECT_DIR

DBT_SOURCES = ("models", "macros", "seeds", "dbt_project.yml", "profiles.yml")

# No target: the manifest is parsed for profiles.yml's own default (DBT_TARGET, else local); the dbt
# resource runs dbt with the target the settings chose (Settings.dbt_target).
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def manifest_is_stale() -> bool:
    """True when the manifest is missing or older than a file of the dbt project."""
    if not dbt_project.manifest_path.exists():
        return True
    built = dbt_project.manifest_path.stat().st_mtime
    for name in DBT_SOURCES:
        path = DBT_PROJECT_DIR / name
        files = path.rglob("*") if path.is_dir() else [path]
        if any(f.is_file() and f.stat().st_mtime > built for f in files):
            return True
    return False


def model_table(key: dg.AssetKey) -> str:
    """The table of the dbt model keyed `key` (the asset key is the model's name), as `schema.name`: the
    manifest's, so that Python names no schema dbt_project.yml gives. Without a database: the warehouse
    connection's own (the DuckDB file, BigQuery's default project)."""
    return _model_tables()[key.to_user_string()]


@cache
def _model_tables() -> dict[str, str]:
    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
    return {n["name"]: f"{n['schema']}.{n['alias']}" for n in nodes if n["resource_type"] == "model"}


# DbtProject.prepare_if_dev, but only when a file changed: `dagster dev` loads this in every run worker,
# and a parse in each would rewrite manifest.json while other workers read it (and cost every run a parse).
if using_dagster_dev() and manifest_is_stale():
    dbt_project.preparer.prepare(dbt_project)
