package queue_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/queue"
)

// With HostDialer every client dials from the host named for it: each
// producer client and each consumer its own, the topic's creation from
// "admin", the final read from "final".
func TestClientHosts(t *testing.T) {
	addr := startBroker(t)
	var mu sync.Mutex
	used := map[string]bool{}
	cfg := queue.Config{
		Topic: "hosts", Partitions: 2, Producers: 2, Consumers: 2,
		SendsPerProducer: 10, Duration: 10 * time.Second, Seed: 3,
		PollTimeout: 200 * time.Millisecond, Bootstrap: []string{addr},
		HostDialer: func(host string) func(ctx context.Context, network, addr string) (net.Conn, error) {
			return func(ctx context.Context, network, addr string) (net.Conn, error) {
				mu.Lock()
				used[host] = true
				mu.Unlock()
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
		},
	}
	if got, want := cfg.ClientHosts(), []string{"producer-0", "producer-1", "consumer-0", "consumer-1"}; !slices.Equal(got, want) {
		t.Fatalf("ClientHosts = %v, want %v", got, want)
	}
	rec := history.NewRecorder(time.Now(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := queue.Run(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	if err := queue.FinalReads(ctx, cfg, rec); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, host := range append(cfg.ClientHosts(), "admin", "final") {
		if !used[host] {
			t.Errorf("no client dialed from %s (dialed from %v)", host, used)
		}
	}
}
