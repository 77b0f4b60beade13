-- Last-click attribution: each revenue order is credited to the customer's latest campaign
-- click in the attribution window before it; orders without such a click are not listed.
with

orders as (

    select * from {{ ref('orders') }}

),

events as (

    select * from {{ ref('stg_marketing__events') }}

),

campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

clicks as (

    select
        event_id,
        customer_id,
        campaign_id,
        channel,
        occurred_at
    from events
    where event_type = 'click'

),

touches as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.currency,
        orders.total_amount,
        clicks.event_id as click_event_id,
        clicks.campaign_id,
        clicks.channel,
        clicks.occurred_at as clicked_at,
        row_number() over (
            partition by orders.order_id
            order by clicks.occurred_at desc, clicks.event_id desc
        ) as touch_rank
    from orders
    inner join clicks
        on
            orders.customer_id = clicks.customer_id
            and orders.ordered_at >= clicks.occurred_at
            and clicks.occurred_at
            > orders.ordered_at - interval '{{ var("attribution_window_days", 7) }} days'
    where orders.is_revenue

),

final as (

    select
        touches.order_id,
        touches.customer_id,
        touches.ordered_at,
        touches.currency,
        touches.total_amount as attributed_revenue,
        touches.click_event_id,
        touches.campaign_id,
        campaigns.name as campaign_name,
        touches.channel,
        touches.clicked_at,
        round(cast(extract(epoch from touches.ordered_at - touches.clicked_at) / 3600 as numeric), 2)
            as hours_to_order
    from touches
    left join campaigns
        on touches.campaign_id = campaigns.campaign_id
    where touches.touch_rank = 1

)

select * from final
