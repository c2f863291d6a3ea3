"""The names the asset graph is organised by, in one place: its groups, the tag of the monthly models,
and its pools. Asset keys are in asset_keys.py.

The dbt models are grouped by their folder under dbt_project/models (LakehouseDbtTranslator.get_group_name);
a Python asset that sits with them takes the same name.
"""

RAW_GROUP = "raw"
CONFORMED_GROUP = "conformed"
WAREHOUSE_GROUP = "warehouse"  # the external tables, ext_<service>_tripdata
CORE_GROUP = "core"  # models/core, and the seeds
MARTS_GROUP = "marts"  # models/marts, and mart_charts
DBT_GROUP = "dbt"  # a dbt node outside a models/<layer>/ folder

# The dbt tag of the monthly models (dbt_project/macros/monthly_incremental.sql, and the marts' own
# config): dagster-dbt makes it an asset tag, with an empty value.
MONTHLY_TAG = "monthly"

# Dagster's concurrency pools, limited on the instance (dagster.yaml: a pool without a limit of its own
# takes one step at a time).
DOWNLOAD_POOL = "tlc_download"  # parallel downloads across runs (`make instance`, TLC_DOWNLOAD_CONCURRENCY)
WAREHOUSE_POOL = "warehouse"  # DuckDB takes one writer at a time: every asset that writes the warehouse shares it
