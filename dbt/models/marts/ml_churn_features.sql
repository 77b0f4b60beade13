-- One row per subscriber per monthly snapshot date: the churn model's training table. Features use
-- only what was known before the snapshot; the label says whether the subscription was cancelled
-- within the horizon after it. Snapshots whose horizon reaches past the as-of instant are left
-- out (label unknown). The rows are macros/churn_features.sql, shared with ml_churn_current_features.
{% set horizon_days = var('churn_horizon_days', 90) %}

{#- the monthly snapshots from the month after the first subscription started (``subscriptions``
    is the macro's CTE of stg_shop__subscriptions) to the as-of minus the horizon -#}
{% set snapshot_dates %}
    select cast(snapshot_day as date) as snapshot_date
    from generate_series(
        (select date_trunc('month', min(started_at at time zone 'UTC')) + interval '1 month' from subscriptions),
        cast({{ scrollintel_as_of() }} at time zone 'UTC' as timestamp) - interval '{{ horizon_days }} days',
        interval '1 month'
    ) as snapshot_day
{% endset %}

{{ churn_feature_rows(snapshot_dates, horizon_days) }}
