"""The dbt project, as Dagster sees it (DbtProject). Its manifest is rebuilt when missing or stale."""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from lake_assets.settings import DBT_PROJECT_DIR

DBT_SOURCES = ("models", "macros", "seeds", "dbt_project.yml", "profiles.yml")

# dbt is installed beside this interpreter; its bin folder is on PATH only in an activated venv.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

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


# Parse only when something changed: `dagster dev` imports this in every run worker, and a parse
# rewrites manifest.json while other workers read it.
if manifest_is_stale():
    dbt_project.preparer.prepare(dbt_project)
