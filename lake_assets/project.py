"""The dbt project, as Dagster sees it (DbtProject). The manifest is built when missing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from lake_assets.settings import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# dbt is installed beside this interpreter; its bin folder is on PATH only in an activated venv.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=os.environ.get("DBT_TARGET", "local"),
)
# `dagster dev` re-parses on every load; anything else parses once, on a fresh checkout.
if os.environ.get("DAGSTER_IS_DEV_CLI") or not dbt_project.manifest_path.exists():
    dbt_project.preparer.prepare(dbt_project)
