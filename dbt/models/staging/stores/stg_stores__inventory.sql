-- Columns come from the raw table as it is now, masked by the stored PII classification
-- (macros/masking.sql): a column added at the source flows through masked, with no edit here.
with

source as (

    select * from {{ source('stores', 'inventory') }}
    {{ scrollintel_where_not_deleted(source('stores', 'inventory')) }}

),

masked as (

    select
        {{ scrollintel_masked_columns(
            source('stores', 'inventory'),
            casts={
                'snapshot_date': 'date',
                'store_id': 'integer',
                'product_id': 'integer',
                'on_hand': 'integer',
            },
        ) }}
    from source

)

select * from masked
