with

orders as (

    select * from {{ ref('orders') }}

),

final as (

    select
        order_date as revenue_date,
        currency,
        count(*) as order_count,
        count(distinct customer_id) as customer_count,
        sum(unit_count) as unit_count,
        sum(total_amount) as revenue,
        sum(paid_amount) as paid_amount,
        round(avg(total_amount), 2) as average_order_value
    from orders
    where is_revenue
    group by order_date, currency

)

select * from final
