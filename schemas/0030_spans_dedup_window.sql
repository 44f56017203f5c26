-- Keep the deduplication tokens of the last 10,000 inserts into spans
-- (instead of 1,000). The write-ahead log inserts a batch again after a
-- crash with the token it had, and ClickHouse drops it if the first insert
-- committed — as long as the token is still within this window, which
-- counts the inserts of every collector writing to the table. See
-- docs/reliability.md.
ALTER TABLE {{.Database}}.spans MODIFY SETTING non_replicated_deduplication_window = 10000
