{#- A cast that yields null instead of failing: try_cast on DuckDB, safe_cast on BigQuery. -#}
{% macro safe_cast(field, type) -%}
    {{ return(adapter.dispatch('safe_cast', 'taxi_lakehouse')(field, type)) }}
{%- endmacro %}

{% macro default__safe_cast(field, type) -%}
    cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro bigquery__safe_cast(field, type) -%}
    safe_cast({{ field }} as {{ type }})
{%- endmacro %}
