{#- Column types by their portable names; dbt's own type_* macros cover the rest. -#}
{% macro type_int() -%}{{ 'int64' if target.type == 'bigquery' else 'bigint' }}{%- endmacro %}
{% macro type_float() -%}{{ 'float64' if target.type == 'bigquery' else 'double' }}{%- endmacro %}
{% macro type_text() -%}{{ 'string' if target.type == 'bigquery' else 'varchar' }}{%- endmacro %}
{#- TLC times are New York wall-clock times without a zone: DATETIME on BigQuery. -#}
{% macro type_datetime() -%}{{ 'datetime' if target.type == 'bigquery' else 'timestamp' }}{%- endmacro %}
