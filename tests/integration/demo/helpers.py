"""What tests know of the shop demo database."""

from __future__ import annotations

#: The primary key column of each shop table.
PRIMARY_KEYS = {
    "customers": "customer_id",
    "products": "product_id",
    "orders": "order_id",
    "order_items": "order_item_id",
    "payments": "payment_id",
    "subscriptions": "subscription_id",
    "subscription_events": "event_id",
}
