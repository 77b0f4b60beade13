-- Columns come from the raw table as it is now, masked by the stored PII classification
-- (macros/masking.sql): a column added at the source flows through masked, with no edit here.
with

source as (

    select * from {{ source('shop', 'customers') }}
    {{ scrollintel_where_not_deleted(source('shop', 'customers')) }}

),

masked as (

    select
        {{ scrollintel_masked_columns(source('shop', 'customers')) }}
    from source

)

select * from masked
