// Package gentest holds test fixtures shared by the workloads' tests. It
// is imported only by tests: nothing in it runs in the simulation guest.
package gentest

import (
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// RefusingCoordinator starts a one-broker kfake cluster with topic, closed
// when the test ends, whose transaction coordinator answers the first
// refused InitProducerId requests (all of them when refused is negative)
// CONCURRENT_TRANSACTIONS, as one still writing the markers of the
// transactional id's last transaction does. It returns the cluster's
// addresses and the count of InitProducerId requests it saw.
func RefusingCoordinator(t testing.TB, topic string, refused int32) ([]string, *atomic.Int32) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	seen := new(atomic.Int32)
	c.ControlKey(int16(kmsg.InitProducerID), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if k := seen.Add(1); refused >= 0 && k > refused {
			return nil, nil, false
		}
		resp := req.(*kmsg.InitProducerIDRequest).ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ErrorCode = kerr.ConcurrentTransactions.Code
		resp.ProducerID, resp.ProducerEpoch = -1, -1
		return resp, nil, true
	})
	return c.ListenAddrs(), seen
}
