"""The local platform: embedded PostgreSQL, Airflow processes and the demo services."""
