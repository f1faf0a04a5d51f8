// Package e2e tests Weir the way a user meets it: a real `weir serve`
// process on a free loopback port and a real data directory, driven by the
// `weir` CLI, kcat, kafka-python, confluent-kafka, franz-go, sarama and
// kafka-go, each running as its own client exactly as a user would run it
// (the Go libraries in the test process, as a Go application links them).
//
// What it models: the README's promises. A topic created with the CLI is
// usable from every client; records written by one client are read by every
// other with the same keys, values, partitions and offsets; a broker stopped
// with SIGTERM exits 0 and comes back with every record at the same offset; a
// broker killed with SIGKILL comes back with every acknowledged record at the
// offset its acknowledgement reported, offsets dense; a server.properties
// file has the effect of each key it sets; a bad command line is refused with
// a clear message and exit code 2.
//
// Invariants of the harness: TestMain builds the weir binary once; every
// test starts its own broker (so tests run in parallel and never see each
// other's topics), bounds every wait with a context or deadline, and stops
// every process it started, dumping the broker's stderr into the test log
// when the test failed. Tests assert what a user would notice (exact output,
// values, offsets, counts), never how fast something was.
//
// What it must never do: touch the broker's packages or internals (only the
// binary, its flags and the Kafka protocol), assert timings, or leave a
// process behind.
//
// The external clients come from Debian packages (`make deps`): kcat,
// python3-kafka and python3-confluent-kafka, run with /usr/bin/python3. A
// missing one skips its test with a message, unless WEIR_E2E_REQUIRE=1 (as
// in CI), which turns that into a failure. sarama and kafka-go are Go
// modules that only these tests import; nothing else in Weir links them.
package e2e
