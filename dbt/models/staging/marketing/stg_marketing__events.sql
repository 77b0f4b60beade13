-- Columns come from the raw table as it is now, masked by the stored PII classification
-- (macros/masking.sql): a column added at the source flows through masked, with no edit here.
with

source as (

    select * from {{ source('marketing', 'events') }}
    {{ scrollintel_where_not_deleted(source('marketing', 'events')) }}

),

masked as (

    select
        {{ scrollintel_masked_columns(
            source('marketing', 'events'),
            casts={
                'customer_id': 'bigint',
                'occurred_at': 'timestamptz',
                'cost': 'numeric(12, 4)',
            },
        ) }}
    from source

)

select * from masked
