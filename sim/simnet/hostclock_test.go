package simnet_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/sim/simnet"
)

// offsetClock is a node's clock whose wall clock is stepped by offset.
type offsetClock struct {
	env.RealClock
	offset atomic.Int64
}

func (c *offsetClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// A host whose wall clock is an hour behind, or ahead, of the network's sets
// a deadline from its own Now: it falls due after the duration the host
// meant, not at once (behind) or an hour late (ahead). The metadata
// quorum's transport sets its write deadlines this way.
func TestDeadlineOnHostClock(t *testing.T) {
	for _, offset := range []time.Duration{-time.Hour, time.Hour} {
		n := newNet(t, simnet.Options{})
		clock := &offsetClock{}
		clock.offset.Store(int64(offset))
		n.SetHostClock("c", clock)
		ln, err := n.Host("s").Listen(context.Background(), ":1")
		if err != nil {
			t.Fatal(err)
		}
		c := dial(t, n.Host("c"), "s:1")
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()

		const wait = 50 * time.Millisecond
		start := time.Now()
		c.SetReadDeadline(clock.Now().Add(wait))
		res := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 10))
			res <- err
		}()
		select {
		case err := <-res:
			if !isTimeout(err) {
				t.Fatalf("offset %v: read: %v, want a timeout", offset, err)
			}
			if el := time.Since(start); el < wait {
				t.Fatalf("offset %v: read timed out after %v, before its deadline (%v)", offset, el, wait)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("offset %v: no timeout within 5s of a %v deadline", offset, wait)
		}
	}
}
