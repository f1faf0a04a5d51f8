package quorum

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/weir-dev/weir/broker/metadata"
)

// RPC operations between nodes.
const (
	opRequest = 1 // key u16 | version u16 | kmsg request body -> kmsg response body
	opJoin    = 2 // address -> nothing
)

// Submit hands a controller request (CreateTopics, BrokerRegistration,
// BrokerHeartbeat, AlterPartition, ...; see controller.Decide) to the
// quorum's leader, on this node or forwarded to another, and returns the
// answer once its records are committed. An AlterPartition is forwarded
// on a connection of its own (rpcLane), to this node's listener too when
// it leads. Kafka errors are in the answer;
// a Go error means there was no answer: ErrUnavailable (no leader with a
// majority for the whole timeout: nothing was proposed),
// ErrLeadershipLost or ErrTimeout (the change may or may not be
// committed), ErrClosed,
// or ctx's error. The wait is bounded by ctx and Config.RequestTimeout.
func (n *Node) Submit(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	for {
		changed := n.changes()
		st := n.Status()
		var resp kmsg.Response
		var err error
		switch {
		case st.Err != nil:
			return nil, fmt.Errorf("%w: %v", ErrClosed, st.Err)
		case st.Leader == n.cfg.NodeID && !n.overNetwork(req):
			resp, err = n.submitLocal(ctx, req)
		case st.Leader >= 0:
			resp, err = n.forward(ctx, raftID(st.Leader), req)
		default:
			err = errNotLeader
		}
		if err == nil || !retryable(err) {
			return resp, err
		}
		// Nothing was proposed: wait for the quorum to change (a new
		// leader, a reconnect) and try again, within the deadline.
		if err := n.pause(ctx, changed); err != nil {
			return nil, err
		}
	}
}

// overNetwork reports whether req goes over the quorum's connections even
// when this node leads: an AlterPartition always does (to this node's own
// controller listener, unless it has none), as Kafka's broker sends it
// over its AlterPartition channel to a controller in the same process.
// So one path carries every leader's ISR changes, and what delays it
// (a late delivery) delays them alike.
func (n *Node) overNetwork(req kmsg.Request) bool {
	return laneForKey(req.Key()) == laneAlterPartition && !n.cfg.Standalone
}

// retryable reports whether err means the request was certainly not
// proposed, so sending it again cannot apply it twice.
func retryable(err error) bool {
	var remote *RemoteError
	if errors.As(err, &remote) {
		return strings.HasPrefix(remote.Msg, errNotLeader.Error())
	}
	return errors.Is(err, errNotLeader) || errors.Is(err, errDial)
}

// pause waits for a change of the node's view, or a short while (a
// leader this node knows of may be unreachable), or the deadline.
func (n *Node) pause(ctx context.Context, changed <-chan struct{}) error {
	t := n.cfg.Clock.NewTimer(time.Duration(n.cfg.HeartbeatTicks) * n.cfg.TickInterval)
	defer t.Stop()
	select {
	case <-changed:
	case <-t.C():
	case <-n.done:
		return ErrClosed
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w (waited %s)", ErrUnavailable, n.cfg.RequestTimeout)
		}
		return ctx.Err()
	}
	return nil
}

func (n *Node) submitLocal(ctx context.Context, req any) (kmsg.Response, error) {
	w := &waiter{req: req, result: make(chan outcome, 1)}
	select {
	case n.reqc <- w:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.done:
		return nil, ErrClosed
	}
	select {
	case o := <-w.result:
		resp, _ := o.resp.(kmsg.Response)
		return resp, o.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %v", ErrTimeout, ctx.Err())
	case <-n.done:
		return nil, ErrClosed
	}
}

// errDial marks a forward that never reached the leader.
var errDial = errors.New("quorum: leader unreachable")

func (n *Node) forward(ctx context.Context, leader uint64, req kmsg.Request) (kmsg.Response, error) {
	out, err := n.tr.call(ctx, leader, laneForKey(req.Key()), opRequest, forwardBody(req))
	switch {
	case err == nil:
	case errors.Is(err, errNoConn):
		return nil, fmt.Errorf("%w: %v", errDial, err) // never sent: safe to retry
	case errors.Is(err, errConnLost):
		return nil, fmt.Errorf("%w: %v", ErrLeadershipLost, err) // sent, then cut: unknown outcome
	default:
		return nil, err
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(out); err != nil {
		return nil, fmt.Errorf("quorum: decoding the leader's answer: %w", err)
	}
	return resp, nil
}

// forwardBody is an opRequest's body: req's key, version and encoding.
func forwardBody(req kmsg.Request) []byte {
	body := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
	body = binary.BigEndian.AppendUint16(body, uint16(req.GetVersion()))
	return req.AppendTo(body)
}

// handleRPC serves another node: a forwarded request (only the leader
// takes one) or a learner's join.
func (n *Node) handleRPC(ctx context.Context, from uint64, op byte, body []byte) ([]byte, error) {
	switch op {
	case opRequest:
		if len(body) < 4 {
			return nil, errors.New("quorum: short request")
		}
		key, version := int16(binary.BigEndian.Uint16(body)), int16(binary.BigEndian.Uint16(body[2:]))
		req := kmsg.RequestForKey(key)
		if req == nil {
			return nil, fmt.Errorf("quorum: unknown api key %d", key)
		}
		req.SetVersion(version)
		if err := req.ReadFrom(body[4:]); err != nil {
			return nil, fmt.Errorf("quorum: decoding a forwarded request: %w", err)
		}
		if n.Status().Leader != n.cfg.NodeID {
			return nil, errNotLeader
		}
		ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
		defer cancel()
		resp, err := n.submitLocal(ctx, req)
		if err != nil {
			return nil, err
		}
		return resp.AppendTo(nil), nil
	case opJoin:
		if n.Status().Leader != n.cfg.NodeID {
			return nil, errNotLeader
		}
		_, err := n.submitLocal(ctx, joinRequest{id: from, addr: string(body)})
		return nil, err
	}
	return nil, fmt.Errorf("quorum: unknown operation %d", op)
}

// join adds a node as a learner (on the leader's loop). The learner
// learns it is in when the leader starts sending it the log.
func (n *Node) join(w *waiter, req joinRequest) {
	for _, id := range append(n.confState.Voters, n.confState.Learners...) {
		if id == req.id {
			w.reply(nil, nil)
			return
		}
	}
	cc := pb.ConfChangeV2{
		Changes: []pb.ConfChangeSingle{{Type: pb.ConfChangeAddLearnerNode, NodeID: req.id}},
		Context: []byte(req.addr),
	}
	if err := n.rn.ProposeConfChange(cc); err != nil {
		w.reply(nil, fmt.Errorf("%w: %v", errNotLeader, err))
		return
	}
	n.spec, _ = n.spec.Apply(metadata.Offset{Index: n.spec.Offset().Index + 1, Term: n.term}, nil)
	w.reply(nil, nil)
}

// joinAsLearner asks the voters, in turn, to add this node as a learner
// until it is in the configuration.
func (n *Node) joinAsLearner() {
	for i := 0; ; i++ {
		st := n.Status()
		for _, l := range st.Learners {
			if l == n.cfg.NodeID {
				return
			}
		}
		v := n.cfg.Voters[i%len(n.cfg.Voters)]
		if st.Leader >= 0 {
			v.ID = st.Leader
		}
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.RequestTimeout)
		n.tr.call(ctx, raftID(v.ID), laneControl, opJoin, []byte(n.cfg.AdvertisedAddr))
		cancel()
		t := n.cfg.Clock.NewTimer(time.Duration(n.cfg.ElectionTicks) * n.cfg.TickInterval)
		select {
		case <-t.C():
		case <-n.ctx.Done():
			t.Stop()
			return
		}
	}
}
