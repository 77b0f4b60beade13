{#
    Rows that soft delete detection marked gone from the source stay in the raw table with
    _deleted_at set (governance/sources/*.yaml, delete_detection: {mode: soft}); staging leaves
    them out, so no mart counts a deleted order or customer. A staging model reads its raw table as

        select * from {{ source('shop', 'orders') }}
        {{ scrollintel_where_not_deleted(source('shop', 'orders')) }}

    The raw table only has the column once soft detection first ran on it: without it, nothing
    is filtered (every row is live). The column stays in staging (always null there), so a
    model's shape does not depend on whether detection has run.
#}

{% macro scrollintel_where_not_deleted(relation) -%}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {#- the column scrollintel.ingest.merge.DELETED_AT names -#}
    {%- set column = '_deleted_at' -%}
    {%- for found in adapter.get_columns_in_relation(relation) if found.name == column -%}
        {{- return('where ' ~ adapter.quote(column) ~ ' is null') -}}
    {%- endfor -%}
    {{- return('') -}}
{%- endmacro %}
