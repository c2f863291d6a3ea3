{#- The first day of the month a row was published in, from the lake's hive partition columns. -#}
{% macro month_start(year_column, month_column) -%}
    {{ return(adapter.dispatch('month_start', 'taxi_lakehouse')(year_column, month_column)) }}
{%- endmacro %}

{% macro default__month_start(year_column, month_column) -%}
    make_date(cast({{ year_column }} as integer), cast({{ month_column }} as integer), 1)
{%- endmacro %}

{% macro bigquery__month_start(year_column, month_column) -%}
    date({{ year_column }}, {{ month_column }}, 1)
{%- endmacro %}
