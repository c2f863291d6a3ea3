{#- The trip's surrogate key: md5 over every column that describes the trip, nulls made explicit.
    The course's key (vendor id + pickup time) collides on real data: in green 2020-10, 32,991 of
    95,120 rows share one with another row, none of them exact duplicates. Hashing the whole trip
    keeps distinct trips apart, and exact duplicates (the same trip published twice) collapse. -#}
{% macro trip_key(columns) -%}
    {%- if columns | length > 20 -%}
        {#- More than 20 columns (fhvhv: 26): the md5 of the md5s of groups of 10. The BigQuery
            emulator's translator turns one concat() of more than about 22 columns into an
            expression nested too deep for its SQL parser; the groups keep every column in the key. -#}
        {%- set groups = [] -%}
        {%- for chunk in columns | batch(10) -%}
            {%- do groups.append(trip_key(chunk)) -%}
        {%- endfor -%}
        {{ md5_hex("concat(" ~ groups | join(", '|', ") ~ ")") }}
    {%- else -%}
        {%- set parts = [] -%}
        {%- for column in columns -%}
            {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ type_text() ~ "), '~')") -%}
        {%- endfor -%}
        {{ md5_hex("concat(" ~ parts | join(", '|', ") ~ ")") }}
    {%- endif -%}
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
