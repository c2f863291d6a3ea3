{#- Tests of monthly models check only the months the run built: a test configured with
    `where: __months_of_this_run__` reads the tested model's rows whose source_month is in
    [min_month, max_month) (run_months()). Without months (a plain `dbt build`) it reads every row:
    on BigQuery through every_month_filter(), as the monthly tables require a filter on source_month.
    Overrides dbt's own get_where_subquery, which puts any other `where` in as written. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where == '__months_of_this_run__' -%}
        {%- set where = month_window_filter('source_month') -%}
    {%- endif -%}
    {%- if where and where != 'true' -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}
