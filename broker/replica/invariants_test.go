//go:build invariants

package replica_test

import (
	"strings"
	"testing"

	"github.com/weir-dev/weir/broker/replica"
)

// With the invariants build tag the checks can fail: a shell that hands the
// leader a log end below the high watermark (a truncated leader log) trips
// them instead of serving a high watermark past the data.
func TestInvariantCheckFires(t *testing.T) {
	local := replica.Local{End: 10, Durable: 10}
	l := newLeader(t, threeReplicas(1, 2), local)
	if u := l.RecordFetch(2, 10, 10, local, t0); u.HighWatermark != 10 {
		t.Fatalf("hw %d", u.HighWatermark)
	}
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "past its log end") {
			t.Fatalf("recovered %v, want the high watermark check", r)
		}
	}()
	l.LocalAppended(replica.Local{End: 5, Durable: 5}, t0)
}
