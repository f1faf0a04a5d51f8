// Package spec is the workload description of a benchmark run, in YAML, in
// the spirit of the OpenMessaging Benchmark's workload files: how many
// topics and partitions, what records look like, how many producers and
// consumers, at what rate, with which client settings, for how long.
//
// A file is decoded strictly: an unknown key, a duplicate key or a value of
// the wrong type is an error that names its line. Decoding then applies the
// defaults (see Spec) and Validate reports every invalid field at once, one
// "field: problem" per line.
//
// Example (bench/specs/1-topic-16-partitions-1kb.yaml):
//
//	name: 1-topic-16-partitions-1kb
//	topics: 1
//	partitions_per_topic: 16
//	message_size: 1024
//	payload: random
//	key_distribution: none
//	producers: 1
//	consumers: 1
//	producer_rate: 50000
//	acks: all
//	compression: none
//	batch_max_bytes: 1048576
//	linger: 1ms
//	warmup: 5s
//	duration: 60s
//
// Durations are Go duration strings ("500ms", "1m"). The spec is written
// back to results.json as JSON with the same field names.
//
// A workload spec runs a registered workload (workloads/registry) instead
// of records described here (bench/specs/payments.yaml, shortened):
//
//	name: payments
//	warmup: 15s
//	duration: 60s
//	workload:
//	  name: payments        # clickstream, payments or vitals
//	  seed: 1               # draws every parameter params does not give
//	  cooldown: 5s          # runs on unmeasured so processing catches up
//	  params:               # the workload's Config, by JSON name
//	    partitions: 8
//	    rate: 250
//	    window_ns: 5m       # a "_ns" key takes a duration string
//	    abort_chance: -1
//
// The record and client fields (topics, message_size, producers, ...)
// must then be absent: the workload decides them. package bench/workload
// says how such a run is measured.
package spec
