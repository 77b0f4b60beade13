-- Columns come from the raw table as it is now, masked by the stored PII classification
-- (macros/masking.sql): a column added at the source flows through masked, with no edit here.
with

source as (

    select * from {{ source('shop', 'order_items') }}
    {{ scrollintel_where_not_deleted(source('shop', 'order_items')) }}

),

masked as (

    select
        {{ scrollintel_masked_columns(source('shop', 'order_items')) }}
    from source

)

select * from masked
