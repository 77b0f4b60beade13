with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_items as (

    select * from {{ ref('order_items') }}

),

payments as (

    select * from {{ ref('stg_shop__payments') }}

),

order_item_totals as (

    select
        order_id,
        count(*) as item_count,
        sum(quantity) as unit_count,
        sum(line_amount) as items_amount
    from order_items
    group by order_id

),

payment_totals as (

    select
        order_id,
        sum(case when status = 'succeeded' then amount else 0 end) as paid_amount,
        sum(case when status = 'refunded' then amount else 0 end) as refunded_amount,
        count(*) filter (where status = 'failed') as failed_payment_count
    from payments
    group by order_id

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        cast(orders.ordered_at at time zone 'UTC' as date) as order_date,
        orders.status,
        orders.channel,
        orders.currency,
        orders.total_amount,
        coalesce(order_item_totals.item_count, 0) as item_count,
        coalesce(order_item_totals.unit_count, 0) as unit_count,
        coalesce(order_item_totals.items_amount, 0) as items_amount,
        coalesce(payment_totals.paid_amount, 0) as paid_amount,
        coalesce(payment_totals.refunded_amount, 0) as refunded_amount,
        coalesce(payment_totals.failed_payment_count, 0) as failed_payment_count,
        orders.status not in ('cancelled', 'returned') as is_revenue,
        row_number() over (
            partition by orders.customer_id
            order by orders.ordered_at, orders.order_id
        ) as customer_order_number
    from orders
    left join order_item_totals
        on orders.order_id = order_item_totals.order_id
    left join payment_totals
        on orders.order_id = payment_totals.order_id

)

select * from final
