{#
    The instant tenure, recency and churn windows are measured at: the project variable
    scrollintel_as_of when set (tests, backfills), otherwise the time of the run.
#}
{% macro scrollintel_as_of() -%}
    {%- set as_of = var('scrollintel_as_of', none) -%}
    {%- if as_of -%}
        cast('{{ as_of }}' as timestamptz)
    {%- else -%}
        current_timestamp
    {%- endif -%}
{%- endmacro %}
