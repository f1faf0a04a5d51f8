package cli

import (
	"context"
	"math"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// adminSession is the client of one admin command (topics, groups,
// transactions, leaders): a kadm client whose requests carry the command's
// timeout both to the broker and on the context, and a tracker that turns
// connection failures into an explanation naming the bootstrap servers.
type adminSession struct {
	ctx     context.Context
	adm     *kadm.Client
	tracker *connTracker
	close   func()
}

// openAdmin connects an admin command. timeoutFlag names the flag that
// gave timeoutMs, for the error a negative value gets; 0 means no timeout.
// The caller must call close.
func openAdmin(ctx context.Context, bootstrap, clientID, timeoutFlag string, timeoutMs int) (*adminSession, error) {
	timeout, err := msDuration(timeoutFlag, timeoutMs)
	if err != nil {
		return nil, err
	}
	opts, tracker, err := clientOpts(bootstrap, clientID)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	s := &adminSession{ctx: ctx, adm: kadm.NewClient(cl), tracker: tracker, close: cl.Close}
	if timeout > 0 {
		// The broker-side timeout of create/delete/elect: 0 would mean "do not wait".
		s.adm.SetTimeoutMillis(int32(min(timeout.Milliseconds(), math.MaxInt32)))
		var cancel context.CancelFunc
		s.ctx, cancel = context.WithTimeout(ctx, timeout)
		s.close = func() { cancel(); cl.Close() }
	}
	return s, nil
}
