CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Database}}.operation_minutes_mv TO {{.Database}}.operation_minutes AS
SELECT
    toStartOfMinute(t) AS minute,
    service,
    name,
    count() AS requests,
    quantilesState(0.5, 0.95, 0.99)(ms) AS duration
FROM
(
    SELECT start AS t, service, name, duration_ns / 1e6 AS ms
    FROM {{.Database}}.spans
    WHERE kind IN ('server', 'consumer')
)
GROUP BY minute, service, name
