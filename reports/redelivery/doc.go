// Package redelivery measures, from a run's history, how many records a
// consumer group read again after one of its members failed: for each
// member incarnation that was given partitions and whose last partition
// change is "lost" (its client
// dropped without a clean leave: the workload crashed it, or it left
// without its final commit; kgo reports either as lost partitions), the
// records that incarnation had read which another member of the group
// read again in a poll begun after the failure. That is the uncommitted
// tail the group consumes twice, the cost at-least-once delivery pays per
// failure; a correct coordinator keeps it to what the member read past
// its last acknowledged commit.
//
// It reads only history.jsonl (format version 4: join, assignment and poll
// ops). Samples of many runs merge into one distribution (Samples are
// counts per failure); Percentile summarises it.
package redelivery
