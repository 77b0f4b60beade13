-- One row per subscription active now (at the start of the as-of day, UTC): the features the churn
-- model scores, the same definition as its training table (macros/churn_features.sql), without a
-- label (the horizon has not passed). ml_churn_score reads this table (governance/models.yaml
-- scoring.features_table), so every current subscriber is scored on today's behaviour.

{% set snapshot_dates %}
    select cast(cast({{ scrollintel_as_of() }} at time zone 'UTC' as timestamp) as date) as snapshot_date
{% endset %}

{{ churn_feature_rows(snapshot_dates) }}
