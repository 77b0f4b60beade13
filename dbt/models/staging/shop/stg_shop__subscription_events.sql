-- Columns come from the raw table as it is now, masked by the stored PII classification
-- (macros/masking.sql): a column added at the source flows through masked, with no edit here.
with

source as (

    select * from {{ source('shop', 'subscription_events') }}
    {{ scrollintel_where_not_deleted(source('shop', 'subscription_events')) }}

),

masked as (

    select
        {{ scrollintel_masked_columns(source('shop', 'subscription_events')) }}
    from source

)

select * from masked
