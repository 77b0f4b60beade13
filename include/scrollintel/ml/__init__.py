"""Model lifecycle: features, training, drift monitoring, explanations, fairness, promotion.

Heavy libraries (scikit-learn, SHAP, Evidently, MLflow, fairlearn) are imported inside the
functions that use them, never at module level: DAG files import this package at parse time.

- :mod:`~scrollintel.ml.tracking`: the MLflow connection, model names, aliases and run tags.
- :mod:`~scrollintel.ml.features`: a model's feature table read from the warehouse (COPY).
- :mod:`~scrollintel.ml.monitoring`: drift and decay of the champion (Evidently), stored per run.
- :mod:`~scrollintel.ml.fairness`: group fairness at the operating threshold (fairlearn), judged
  against the model's fairness policy.
- :mod:`~scrollintel.ml.explain`: SHAP global and per-segment importances, summary tables, chart.
- :mod:`~scrollintel.ml.gates`: the checks a challenger must pass before the approval gate, and
  the approval request's Markdown summary.
- :mod:`~scrollintel.ml.promotion`: a challenger evaluated against the champion, then promoted,
  rejected (archived) or rolled back by moving registry aliases; every step in the ledger.
- :mod:`~scrollintel.ml.scoring`: batch scoring with the champion of the moment into
  ``marts.<model>_scores``.
"""
