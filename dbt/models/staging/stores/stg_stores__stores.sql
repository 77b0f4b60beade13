-- Columns come from the raw table as it is now, masked by the stored PII classification
-- (macros/masking.sql): a column added at the source flows through masked, with no edit here.
with

source as (

    select * from {{ source('stores', 'stores') }}
    {{ scrollintel_where_not_deleted(source('stores', 'stores')) }}

),

masked as (

    select
        {{ scrollintel_masked_columns(
            source('stores', 'stores'),
            casts={
                'store_id': 'integer',
                'opened_on': 'date',
            },
        ) }}
    from source

)

select * from masked
