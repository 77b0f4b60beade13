-- An order's total is the rounded sum of its discounted lines (the shop computes it so).
select
    order_id,
    total_amount,
    items_amount
from {{ ref('orders') }}
where item_count > 0 and total_amount <> round(items_amount, 2)
