with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

orders as (

    select * from {{ ref('orders') }}

),

subscriptions as (

    select * from {{ ref('stg_shop__subscriptions') }}

),

customer_orders as (

    select
        customer_id,
        count(*) as order_count,
        count(*) filter (where is_revenue) as revenue_order_count,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        sum(case when is_revenue then total_amount else 0 end) as lifetime_value,
        max(currency) as currency
    from orders
    group by customer_id

),

final as (

    select
        customers.customer_id,
        customers.country,
        customers.region,
        customers.city,
        customers.signup_at,
        cast({{ scrollintel_as_of() }} as date) - cast(customers.signup_at as date) as tenure_days,
        coalesce(customer_orders.order_count, 0) as order_count,
        coalesce(customer_orders.revenue_order_count, 0) as revenue_order_count,
        customer_orders.first_ordered_at,
        customer_orders.last_ordered_at,
        customer_orders.currency,
        coalesce(customer_orders.lifetime_value, 0) as lifetime_value,
        round(customer_orders.lifetime_value / nullif(customer_orders.revenue_order_count, 0), 2)
            as average_order_value,
        subscriptions.subscription_id is not null as has_subscription,
        subscriptions.plan as subscription_plan,
        subscriptions.subscription_id is not null
        and subscriptions.cancelled_at is null as is_active_subscriber
    from customers
    left join customer_orders
        on customers.customer_id = customer_orders.customer_id
    left join subscriptions
        on customers.customer_id = subscriptions.customer_id

)

select * from final
