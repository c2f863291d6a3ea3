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
