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
package spec
