{#- dbt-bigquery's insert_overwrite with the run's months as its static partitions. The months are
    known only at execution (macros/month_window.sql), after the model's config was parsed, so
    they cannot be the config's `partitions`: this macro, which a root project's macro of the same
    name replaces, passes them instead. The rest is dbt-bigquery 1.12's own macro. -#}
{% macro bq_generate_incremental_insert_overwrite_build_sql(
    tmp_relation, target_relation, sql, unique_key, partition_by, partitions, dest_columns, tmp_relation_exists, copy_partitions
) %}
    {% if partition_by is none %}
      {% do exceptions.raise_compiler_error("The 'insert_overwrite' strategy requires the `partition_by` config.") %}
    {% endif %}
    {% set partitions = partitions or month_partitions() %}
    {{ return(bq_insert_overwrite_sql(
        tmp_relation, target_relation, sql, unique_key, partition_by, partitions, dest_columns, tmp_relation_exists, copy_partitions
    )) }}
{% endmacro %}

{#- The merge that replaces the partitions, with one more condition on the rows it deletes: dbt-bigquery
    names the partitions as date_trunc(source_month, month) in (...), which BigQuery need not take for
    a partition filter, so a table that requires one (require_partition_filter,
    macros/monthly_incremental.sql) would refuse the merge. The bare column against the run's months
    (every_month_filter() without months) is one, and prunes the target to those months; the months
    start on their first days, so it holds for every row of their partitions and the same rows are
    deleted. -#}
{% macro bigquery__get_insert_overwrite_merge_sql(target, source, dest_columns, predicates, include_sql_header) -%}
    {%- set predicates = (predicates or []) + [month_window_filter('DBT_INTERNAL_DEST.source_month')] -%}
    {{ return(default__get_insert_overwrite_merge_sql(target, source, dest_columns, predicates, include_sql_header)) }}
{%- endmacro %}
