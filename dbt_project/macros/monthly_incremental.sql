{#- The config of every monthly model: built one lake month at a time, incremental by source_month
    (the month a trip was published in, its lake partition). A run with months (run_months(): Dagster
    sets them per run) reads and replaces exactly those months: BigQuery overwrites the month
    partitions (macros/bigquery_insert_overwrite.sql), DuckDB deletes the months' rows and inserts
    them again. The tag `monthly` is what Dagster selects and partitions by month
    (lake_assets/assets/dbt.py).
    On BigQuery the table requires a filter on source_month (require_partition_filter): every query of
    it must name its months (every_month_filter() for all of them), or BigQuery refuses it, so nothing
    reads the whole history by accident. A model read whole on purpose passes
    require_partition_filter=false.
    Use: {{ config(**monthly_incremental()) }}. -#}
{% macro monthly_incremental(require_partition_filter=true) -%}
    {%- set common = {'materialized': 'incremental', 'tags': ['monthly'], 'on_schema_change': 'append_new_columns'} -%}
    {%- if target.type == 'bigquery' -%}
        {%- do common.update({
            'incremental_strategy': 'insert_overwrite',
            'partition_by': {'field': 'source_month', 'data_type': 'date', 'granularity': 'month'},
            'require_partition_filter': require_partition_filter,
        }) -%}
    {%- else -%}
        {%- do common.update({'incremental_strategy': 'delete+insert', 'unique_key': 'source_month'}) -%}
    {%- endif -%}
    {{ return(common) }}
{%- endmacro %}
