package broker_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/env"
)

// wallOffsetClock is the simulation's node clock in small: Now reads the
// real time plus an offset (a jump of the wall clock), which neither timers
// nor Monotonic see.
type wallOffsetClock struct {
	env.RealClock
	offset atomic.Int64
}

func (c *wallOffsetClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// A transaction begun while the coordinator's wall clock was an hour ahead
// is aborted once its timeout has passed, not an hour after the clock is
// reset: the transaction coordinator's shards run on the clock's monotonic
// time, as the group coordinator's (issue 14).
func TestTransactionTimeoutSurvivesWallClockGoingBack(t *testing.T) {
	clock := &wallOffsetClock{}
	tb := &testBroker{t: t, cfg: newConfig(t), deps: broker.Deps{FS: env.OSFS{}, Net: env.OSNet{}, Clock: clock,
		Breach: func(name, detail string) { t.Errorf("invariant %s broken: %s", name, detail) }}}
	tb.start()
	t.Cleanup(tb.close)
	tb.createTopic("t", 1, nil)
	cl := tb.txnProducer("jumped", kgo.TransactionTimeout(time.Second))
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	clock.offset.Store(int64(time.Hour))
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Topic: "t", Value: []byte("abandoned")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	clock.offset.Store(0)
	adm := kadm.NewClient(tb.client())
	waitTimeoutAbort(t, adm)
}
