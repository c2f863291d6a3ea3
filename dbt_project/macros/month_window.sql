{#- The months a run rebuilds, [min_month, max_month), as two 'YYYY-MM-DD' strings, or none for every
    month. From the vars min_month / max_month when given (`dbt build --vars ...`); else from the
    environment variables LAKEHOUSE_MIN_MONTH / LAKEHOUSE_MAX_MONTH, which Dagster sets for each run
    and which are read at execution only: dbt hashes the vars it parses with, so months given as vars
    would make every run of new months parse the whole project again, while a value read only when
    `execute` is true never enters the parse and partial parsing holds. -#}
{% macro run_months() -%}
    {%- set min_month = var('min_month') or (env_var('LAKEHOUSE_MIN_MONTH', '') if execute else '') -%}
    {%- set max_month = var('max_month') or (env_var('LAKEHOUSE_MAX_MONTH', '') if execute else '') -%}
    {%- if not (min_month and max_month) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- do month_literal(min_month) -%}
    {%- do month_literal(max_month) -%}
    {{ return([min_month | string, max_month | string]) }}
{%- endmacro %}

{#- Restricts an incremental run to the months of the run (run_months()): [min_month, max_month). -#}
{% macro month_window_filter(column) -%}
    {%- set months = run_months() -%}
    {%- if months -%}
        {{ column }} >= {{ month_literal(months[0]) }} and {{ column }} < {{ month_literal(months[1]) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{% macro month_literal(value) -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) -%}
        {{ exceptions.raise_compiler_error("month " ~ value ~ " is not a date YYYY-MM-DD") }}
    {%- endif -%}
    date '{{ value }}'
{%- endmacro %}

{#- The months of the run as date literals: the partitions a BigQuery insert_overwrite replaces
    (macros/bigquery_insert_overwrite.sql). Static partitions spare BigQuery the query that finds
    them, and a run with no months named (plain `dbt build`) replaces the partitions its rows fall
    in instead. -#}
{% macro month_partitions() -%}
    {%- set window = run_months() -%}
    {%- if not window -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set start = modules.datetime.date.fromisoformat(window[0]) -%}
    {%- set end = modules.datetime.date.fromisoformat(window[1]) -%}
    {%- set months = [] -%}
    {%- for offset in range((end.year - start.year) * 12 + end.month - start.month) -%}
        {%- set index = start.month - 1 + offset -%}
        {%- do months.append("date '" ~ modules.datetime.date(start.year + index // 12, index % 12 + 1, 1).isoformat() ~ "'") -%}
    {%- endfor -%}
    {{ return(months) }}
{%- endmacro %}
