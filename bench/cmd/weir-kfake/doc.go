// Command weir-kfake runs franz-go's in-memory fake Kafka cluster
// (github.com/twmb/franz-go/pkg/kfake) on a fixed address until SIGINT or
// SIGTERM, so that `weir bench` can measure it as an external target: a
// peer written in Go that keeps records in memory and never touches a
// disk, run with the same client and spec as Weir and the null broker.
//
//	go build -o /tmp/weir-kfake ./bench/cmd/weir-kfake
//	/tmp/weir-kfake --listen 127.0.0.1:9095 --brokers 1 &
//	weir bench --spec bench/specs/1-topic-1-partition-100b.yaml \
//	    --targets embedded,null,external=127.0.0.1:9095 --out runs/bench-1
//
// With --brokers N > 1 the brokers listen on consecutive ports from the
// one given (port 0: N free ports). Each broker advertises the address it
// listens on, so listen on an address the clients can reach. Flags:
//
//	--listen HOST:PORT  address of the first broker (default 127.0.0.1:9095)
//	--brokers N         brokers in the cluster (default 1)
//	--log-level LEVEL   kfake's log to stderr: none, error, warn, info, debug
//
// kfake holds every record in memory until its topic is deleted (weir bench
// deletes the topics it created after each run). At 100 B records and max
// rate its resident memory grew to about 11 GB over three 25 s runs, so
// watch the memory of long runs.
package main
