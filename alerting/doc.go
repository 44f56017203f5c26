// Package alerting turns findings and service/edge metrics into alerts and
// notifies receivers (generic webhooks in Alertmanager's format, Slack
// incoming webhooks, an Alertmanager's API), without a UI being watched.
//
// # Rules and states
//
// Rules come from the "alerting" section of the configuration (Config). A
// finding rule is active for each distinct label set of matching findings
// whose last_seen lies within its window; a metric rule for each service or
// edge whose metric over the lookback crosses the threshold. An active
// alert is pending until its condition has held for the rule's for:, then
// firing; when the condition no longer holds a firing alert is resolved.
// Labels are alertname, kind, service, operation, peer, severity (metric
// rules: kind=metric, scope, metric, service, peer) plus the rule's labels;
// the fingerprint is Alertmanager's hash of the labels. An alert's labels
// are fixed when it becomes active.
//
// # Several instances
//
// Nothing is kept in memory between evaluations; every instance may run
// the evaluator against the same ClickHouse:
//
//  1. Evaluation slots (server time truncated to evaluation_interval) are
//     elected through alert_slots like analysis units: each instance inserts
//     a claim, waits 300 ms, and the earliest claim (server time, then
//     instance id) wins. Only the winner evaluates the slot.
//  2. The winner reads the latest state of every alert from alert_states,
//     evaluates the rules, and appends the new states with an insert
//     deduplication token of the slot (a slot evaluated twice is stored once).
//  3. For every (receiver, group) it reads the head of the notification log
//     (alert_notifications) and applies group_wait / group_interval /
//     repeat_interval. A due notification is claimed as the group's next
//     sequence number; the earliest live claim wins, so two instances that
//     both decide to notify a group send one notification. The winner sends
//     it, retrying transient errors with exponential backoff, renews its
//     claim before each retry, records every attempt in alert_deliveries and
//     appends delivered or failed. A claim without outcome expires after
//     the delivery lease (timeout + max_interval + 30 s) and the next
//     evaluation claims the notification again, so a crashed instance's
//     notification is still sent (possibly twice if it crashed after the
//     receiver got it: delivery is at least once).
package alerting
