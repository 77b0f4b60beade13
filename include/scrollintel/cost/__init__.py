"""Cost and ROI: what each pipeline, team and dataset costs, where it is heading, and what it returns.

- :mod:`~scrollintel.cost.sources`: usage collected once a day: Airflow task tries (REST API),
  warehouse storage per table and query time per role, AWS Cost Explorer bills per tag;
- :mod:`~scrollintel.cost.rollup`: priced and attributed daily facts (``governance.cost_facts``),
  a day replaced as a whole (ADR 0014 states the attribution rule);
- :mod:`~scrollintel.cost.forecast`: month-end forecast with an interval, robust anomalies;
- :mod:`~scrollintel.cost.budgets`: thresholds crossed, one Slack alert and one ledger entry each;
- :mod:`~scrollintel.cost.roi`: value per definition of ``governance/roi.yaml`` against its cost;
- :mod:`~scrollintel.cost.query` / :mod:`~scrollintel.cost.exports`: what the Cost & ROI page shows.

Nothing heavy at import: pandas, statsmodels, boto3, openpyxl and reportlab load inside functions.
"""

from __future__ import annotations
