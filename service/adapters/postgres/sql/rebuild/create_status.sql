INSERT INTO {schema}.aggregation_status DEFAULT VALUES
