{#
    The instant tenure, recency and churn windows are measured at: the project variable
    scrollintel_as_of when set (tests, backfills), else the environment variable SCROLLINTEL_AS_OF
    (the platform's as-of, which the quality gate measures freshness against too: a pinned demo
    is modelled and checked at its own date), otherwise the time of the run.
#}
{% macro scrollintel_as_of() -%}
    {%- set as_of = var('scrollintel_as_of', none) or env_var('SCROLLINTEL_AS_OF', '') -%}
    {%- if as_of -%}
        cast('{{ as_of }}' as timestamptz)
    {%- else -%}
        current_timestamp
    {%- endif -%}
{%- endmacro %}
