{#- Restricts an incremental run to the months Dagster asked for: [min_month, max_month). -#}
{% macro month_window_filter(column) -%}
    {%- if var('min_month') and var('max_month') -%}
        {{ column }} >= {{ month_literal(var('min_month')) }} and {{ column }} < {{ month_literal(var('max_month')) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{% macro month_literal(value) -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) -%}
        {{ exceptions.raise_compiler_error("month var " ~ value ~ " is not a date YYYY-MM-DD") }}
    {%- endif -%}
    date '{{ value }}'
{%- endmacro %}

{#- The months of [min_month, max_month) as date literals: the partitions a BigQuery insert_overwrite
    replaces. Static partitions spare BigQuery the query that finds them, and a run with no months
    named (plain `dbt build`) replaces the partitions its rows fall in instead. -#}
{% macro month_partitions() -%}
    {%- if not (var('min_month') and var('max_month')) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- do month_literal(var('min_month')) -%}
    {%- do month_literal(var('max_month')) -%}
    {%- set start = modules.datetime.date.fromisoformat(var('min_month') | string) -%}
    {%- set end = modules.datetime.date.fromisoformat(var('max_month') | string) -%}
    {%- set months = [] -%}
    {%- for offset in range((end.year - start.year) * 12 + end.month - start.month) -%}
        {%- set index = start.month - 1 + offset -%}
        {%- do months.append("date '" ~ modules.datetime.date(start.year + index // 12, index % 12 + 1, 1).isoformat() ~ "'") -%}
    {%- endfor -%}
    {{ return(months) }}
{%- endmacro %}
