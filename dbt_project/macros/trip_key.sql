{#- The trip's surrogate key: md5 over every column that describes the trip, nulls made explicit.
    The course's key (vendor id + pickup time) collides on real data: in green 2020-10, 32,991 of
    95,120 rows share one with another row, none of them exact duplicates. Hashing the whole trip
    keeps distinct trips apart, and exact duplicates (the same trip published twice) collapse. -#}
{% macro trip_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ type_text() ~ "), '~')") -%}
    {%- endfor -%}
    {{ md5_hex("concat(" ~ parts | join(", '|', ") ~ ")") }}
{%- endmacro %}

{% macro md5_hex(expression) -%}
    {{ return(adapter.dispatch('md5_hex', 'taxi_lakehouse')(expression)) }}
{%- endmacro %}

{% macro default__md5_hex(expression) -%}
    md5({{ expression }})
{%- endmacro %}

{% macro bigquery__md5_hex(expression) -%}
    to_hex(md5({{ expression }}))
{%- endmacro %}
