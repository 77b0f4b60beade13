-- Columns come from the raw table as it is now, masked by the stored PII classification
-- (macros/masking.sql): a column added at the source flows through masked, with no edit here.
with

source as (

    select * from {{ source('marketing', 'campaigns') }}
    {{ scrollintel_where_not_deleted(source('marketing', 'campaigns')) }}

),

masked as (

    select
        {{ scrollintel_masked_columns(
            source('marketing', 'campaigns'),
            casts={
                'started_on': 'date',
                'ended_on': 'date',
                'daily_budget': 'numeric(12, 2)',
            },
        ) }}
    from source

)

select * from masked
