{#- A monthly model's grain is one row per trip and source month: the same trip published in two
    months is kept in both (docs/architecture.md, "Choices worth knowing"), so uniqueness is asked of each month.
    Failing rows: a value that occurs more than once in one source month. Used with
    `where: __months_of_this_run__`, it reads the months of the run, however many a batch holds. -#}
{% test unique_within_month(model, column_name) %}
select source_month, {{ column_name }} as duplicated_value, count(*) as occurrences
from {{ model }}
where {{ column_name }} is not null
group by source_month, {{ column_name }}
having count(*) > 1
{% endtest %}
