{#
    The churn model's feature rows: one row per subscription active at each date of
    ``snapshot_dates`` (SQL selecting one date column, snapshot_date), features computed from
    what was known before that date's start (UTC). With ``horizon_days``, also churn_label: 1 when
    the subscription was cancelled within that many days after the snapshot.

    One definition for the training table (ml_churn_features: monthly snapshots whose label is
    known) and the scoring table (ml_churn_current_features: today, no label yet), so a model
    scores exactly the features it was trained on. age_band and region are the protected
    attributes fairness is measured across: coarse groups derived from the already generalised
    staging columns (birth year, region), never raw personal data, and never model features.
#}
{% macro churn_feature_rows(snapshot_dates, horizon_days=none) %}

with

subscriptions as (

    select * from {{ ref('stg_shop__subscriptions') }}

),

customers as (

    select
        customer_id,
        birth_year,
        region
    from {{ ref('stg_shop__customers') }}

),

subscription_events as (

    select * from {{ ref('stg_shop__subscription_events') }}

),

orders as (

    select * from {{ ref('orders') }}

),

snapshot_dates as (

    {{ snapshot_dates }}

),

subscribers as (

    -- each subscription with its customer's generalised attributes, joined once here: joined to
    -- the snapshot rows at the end instead, the planner's row estimates (CTE scans joined on two
    -- keys) fell to one and it scanned the customers once per row (minutes at scale 1)
    select
        subscriptions.subscription_id,
        subscriptions.customer_id,
        subscriptions.started_at,
        subscriptions.cancelled_at,
        customers.birth_year,
        coalesce(nullif(trim(customers.region), ''), 'unknown') as region
    from subscriptions
    left join customers
        on subscriptions.customer_id = customers.customer_id

),

active_subscriptions as (

    -- Staging keeps the birth year only, so the age is the snapshot's year minus it (one year
    -- high before the birthday): close enough for ten-year bands.
    select
        snapshot_dates.snapshot_date,
        cast(snapshot_dates.snapshot_date as timestamp) at time zone 'UTC' as snapshot_at,
        subscribers.subscription_id,
        subscribers.customer_id,
        subscribers.started_at,
        subscribers.cancelled_at,
        cast(extract(year from snapshot_dates.snapshot_date) as integer) - subscribers.birth_year as age_years,
        subscribers.region
    from snapshot_dates
    inner join subscribers
        on
            subscribers.started_at < cast(snapshot_dates.snapshot_date as timestamp) at time zone 'UTC'
            and (
                subscribers.cancelled_at is null
                or subscribers.cancelled_at >= cast(snapshot_dates.snapshot_date as timestamp) at time zone 'UTC'
            )

),

event_features as (

    select
        active_subscriptions.subscription_id,
        active_subscriptions.snapshot_date,
        count(*) filter (
            where subscription_events.event_type = 'support_ticket'
            and subscription_events.occurred_at >= active_subscriptions.snapshot_at - interval '90 days'
        ) as support_tickets_90d,
        count(*) filter (where subscription_events.event_type = 'support_ticket') as support_tickets_total,
        count(*) filter (
            where subscription_events.event_type = 'payment_failed'
            and subscription_events.occurred_at >= active_subscriptions.snapshot_at - interval '90 days'
        ) as failed_payments_90d,
        count(*) filter (where subscription_events.event_type = 'payment_failed') as failed_payments_total,
        count(*) filter (where subscription_events.event_type = 'downgrade') as downgrades_total,
        count(*) filter (where subscription_events.event_type = 'upgrade') as upgrades_total
    from active_subscriptions
    left join subscription_events
        on
            active_subscriptions.subscription_id = subscription_events.subscription_id
            and active_subscriptions.snapshot_at > subscription_events.occurred_at
    group by active_subscriptions.subscription_id, active_subscriptions.snapshot_date

),

order_features as (

    select
        active_subscriptions.subscription_id,
        active_subscriptions.snapshot_date,
        count(orders.order_id) filter (
            where orders.ordered_at >= active_subscriptions.snapshot_at - interval '90 days'
        ) as orders_90d,
        count(orders.order_id) filter (
            where orders.ordered_at < active_subscriptions.snapshot_at - interval '90 days'
            and orders.ordered_at >= active_subscriptions.snapshot_at - interval '180 days'
        ) as orders_prior_90d,
        coalesce(sum(orders.total_amount) filter (
            where orders.ordered_at >= active_subscriptions.snapshot_at - interval '90 days'
        ), 0) as revenue_90d,
        coalesce(sum(orders.total_amount), 0) as revenue_total,
        max(orders.ordered_at) as last_ordered_at
    from active_subscriptions
    left join orders
        on
            active_subscriptions.customer_id = orders.customer_id
            and active_subscriptions.snapshot_at > orders.ordered_at
            and orders.is_revenue
    group by active_subscriptions.subscription_id, active_subscriptions.snapshot_date

),

final as (

    select
        active_subscriptions.customer_id,
        active_subscriptions.snapshot_date,
        active_subscriptions.subscription_id,
        active_subscriptions.snapshot_date - cast(active_subscriptions.started_at at time zone 'UTC' as date)
            as tenure_days,
        event_features.support_tickets_90d,
        event_features.support_tickets_total,
        event_features.failed_payments_90d,
        event_features.failed_payments_total,
        event_features.downgrades_total,
        event_features.upgrades_total,
        order_features.orders_90d,
        order_features.orders_prior_90d,
        round((order_features.orders_90d + 1.0) / (order_features.orders_prior_90d + 1.0), 4) as order_trend,
        order_features.revenue_90d,
        order_features.revenue_total,
        active_subscriptions.snapshot_date - cast(order_features.last_ordered_at at time zone 'UTC' as date)
            as days_since_last_order,
        case
            when active_subscriptions.age_years is null or active_subscriptions.age_years < 0 then 'unknown'
            when active_subscriptions.age_years < 18 then 'under 18'
            when active_subscriptions.age_years < 25 then '18-24'
            when active_subscriptions.age_years < 35 then '25-34'
            when active_subscriptions.age_years < 45 then '35-44'
            when active_subscriptions.age_years < 55 then '45-54'
            when active_subscriptions.age_years < 65 then '55-64'
            else '65+'
        end as age_band,
        active_subscriptions.region{% if horizon_days is not none %},
        case
            when
                active_subscriptions.cancelled_at
                < active_subscriptions.snapshot_at + interval '{{ horizon_days }} days'
                then 1
            else 0
        end as churn_label{% endif %}
    from active_subscriptions
    inner join event_features
        on
            active_subscriptions.subscription_id = event_features.subscription_id
            and active_subscriptions.snapshot_date = event_features.snapshot_date
    inner join order_features
        on
            active_subscriptions.subscription_id = order_features.subscription_id
            and active_subscriptions.snapshot_date = order_features.snapshot_date

)

select * from final

{% endmacro %}
