{#
    Models land in exactly the schema they are configured for (staging, marts), not in
    "<target schema>_<schema>": the warehouse layout is fixed (raw, staging, marts).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
