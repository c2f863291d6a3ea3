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
