{#
    Generic tests this project needs (no package downloads: dbt hub is not reachable).
#}

{% test unique_combination_of_columns(model, combination_of_columns) %}
    select {{ combination_of_columns | join(', ') }}
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}


{% test accepted_range(model, column_name, min_value=none, max_value=none) %}
    select {{ column_name }}
    from {{ model }}
    where
        false
        {%- if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
        {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
{% endtest %}


{% test not_masked_value_leak(model, column_name, pattern) %}
    {#- fails when a column still holds values shaped like raw personal data -#}
    select {{ column_name }}
    from {{ model }}
    where cast({{ column_name }} as text) ~ '{{ pattern }}'
{% endtest %}
