CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Database}}.span_names_mv TO {{.Database}}.span_names AS
SELECT
    toStartOfMinute(start) AS minute,
    service,
    name,
    kind,
    count() AS spans
FROM {{.Database}}.spans
GROUP BY minute, service, name, kind
