CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Database}}.service_minutes_mv TO {{.Database}}.service_minutes AS
SELECT
    toStartOfMinute(t) AS minute,
    service,
    count() AS requests,
    countIf(is_error) AS errors,
    quantilesState(0.5, 0.95, 0.99)(ms) AS duration
FROM
(
    SELECT start AS t, service, status_code = 'error' AS is_error, duration_ns / 1e6 AS ms
    FROM {{.Database}}.spans
    WHERE kind IN ('server', 'consumer') OR parent_span_id = unhex('0000000000000000')
)
GROUP BY minute, service
