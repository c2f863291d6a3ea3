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

{#- Restricts an incremental run to the months of the run (run_months()): [min_month, max_month); a
    run of every month reads every_month_filter(column). -#}
{% macro month_window_filter(column) -%}
    {%- set months = run_months() -%}
    {%- if months -%}
        {{ column }} >= {{ month_literal(months[0]) }} and {{ column }} < {{ month_literal(months[1]) }}
    {%- else -%}
        {{ every_month_filter(column) }}
    {%- endif -%}
{%- endmacro %}

{#- A filter on source_month that every month passes. BigQuery refuses a query of a table created with
    require_partition_filter (macros/monthly_incremental.sql) unless it filters the partition column
    against a constant, so there a read of every month says so with a bound before the first TLC
    month; DuckDB reads `true`. lake_assets/bigquery_warehouse.py counts rows with the same bound. -#}
{% macro every_month_filter(column) -%}
    {{ return(adapter.dispatch('every_month_filter', 'taxi_lakehouse')(column)) }}
{%- endmacro %}

{% macro default__every_month_filter(column) -%}
    true
{%- endmacro %}

{% macro bigquery__every_month_filter(column) -%}
    {{ column }} >= {{ month_literal('1900-01-01') }}
{%- endmacro %}

{% macro month_literal(value) -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) -%}
        {{ exceptions.raise_compiler_error("month " ~ value ~ " is not a date YYYY-MM-DD") }}
    {%- endif -%}
    date '{{ value }}'
{%- endmacro %}

{#- The first days of the run's months, as dates (none: every month). -#}
{% macro run_month_starts() -%}
    {%- set window = run_months() -%}
    {%- if not window -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set start = modules.datetime.date.fromisoformat(window[0]) -%}
    {%- set end = modules.datetime.date.fromisoformat(window[1]) -%}
    {%- set months = [] -%}
    {%- for offset in range((end.year - start.year) * 12 + end.month - start.month) -%}
        {%- set index = start.month - 1 + offset -%}
        {%- do months.append(modules.datetime.date(start.year + index // 12, index % 12 + 1, 1)) -%}
    {%- endfor -%}
    {{ return(months) }}
{%- endmacro %}

{#- The months of the run as date literals: the partitions a BigQuery insert_overwrite replaces
    (macros/bigquery_insert_overwrite.sql). Static partitions spare BigQuery the query that finds
    them, and a run with no months named (plain `dbt build`) replaces the partitions its rows fall
    in instead. -#}
{% macro month_partitions() -%}
    {%- set months = run_month_starts() -%}
    {%- if months is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for month in months -%}
        {%- do literals.append("date '" ~ month.isoformat() ~ "'") -%}
    {%- endfor -%}
    {{ return(literals) }}
{%- endmacro %}

{#- Restricts a read of the lake (an ext_<service>_tripdata source) to the months of the run, on its
    hive partition columns year and month. BigQuery prunes the files of an external table by
    predicates on the bare partition columns against literals, and its external tables require
    one (require_hive_partition_filter): there it reads `(year = 2020 and month in (10, 11, 12)) or
    ...`, and a run of every month says so with `year is not null`. DuckDB prunes the hive folders
    of read_parquet through the date it builds from them as well, so its SQL stays as it was. -#}
{% macro lake_month_filter() -%}
    {{ return(adapter.dispatch('lake_month_filter', 'taxi_lakehouse')()) }}
{%- endmacro %}

{% macro default__lake_month_filter() -%}
    {{ month_window_filter(month_start('year', 'month')) }}
{%- endmacro %}

{% macro bigquery__lake_month_filter() -%}
    {%- set months = run_month_starts() -%}
    {%- if not months -%}
        year is not null
    {%- else -%}
        {%- set by_year = {} -%}
        {%- for day in months -%}
            {%- do by_year.setdefault(day.year, []).append(day.month | string) -%}
        {%- endfor -%}
        {%- set terms = [] -%}
        {%- for year, in_year in by_year | dictsort -%}
            {%- do terms.append("(year = " ~ year ~ " and month in (" ~ in_year | join(", ") ~ "))") -%}
        {%- endfor -%}
        ({{ terms | join(" or ") }})
    {%- endif -%}
{%- endmacro %}
