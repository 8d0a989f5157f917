version = "0.1.0"  # dbt asks every adapter plugin for its version
