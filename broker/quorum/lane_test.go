package quorum

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ForwardedRequestKey tells the frame a forward writes, for every Kafka
// request, from everything else a node writes: the other RPC frames, the
// hello, a Kafka client's request, a frame cut short.
func TestForwardedRequestKey(t *testing.T) {
	for key := int16(0); key <= kmsg.MaxKey; key++ {
		req := kmsg.RequestForKey(key)
		if req == nil {
			continue
		}
		req.SetVersion(req.MaxVersion())
		frame := appendRequestFrame(nil, 1<<40+uint64(key), opRequest, forwardBody(req))
		if got, ok := ForwardedRequestKey(frame); !ok || got != key {
			t.Errorf("%s: (%d, %t), want (%d, true)", kmsg.NameForKey(key), got, ok, key)
		}
		if _, ok := ForwardedRequestKey(frame[:15]); ok {
			t.Errorf("%s: matched the frame's first 15 bytes", kmsg.NameForKey(key))
		}
	}
	alter := kmsg.NewPtrAlterPartitionRequest()
	kafka := kmsg.NewRequestFormatter(kmsg.FormatterClientID("b1")).AppendRequest(nil, alter, 7)
	for name, b := range map[string][]byte{
		"a join":          appendRequestFrame(nil, 1, opJoin, []byte("n1:9093")),
		"a response":      appendWireFrame(nil, wireResponse, append([]byte{0, 0, 0, 0, 0, 0, 0, 1, rpcStatusOK}, forwardBody(alter)...)),
		"a hello":         appendWireFrame(nil, wireHello, []byte{purposeRPC, 0, 0, 0, 0, 0, 0, 0, 1}),
		"a Kafka request": kafka,
		"an empty write":  nil,
		"a raft frame":    appendWireFrame(nil, wireRaft, forwardBody(alter)),
		"a short forward": appendRequestFrame(nil, 1, opRequest, []byte{0}),
	} {
		if k, ok := ForwardedRequestKey(b); ok {
			t.Errorf("%s: matched as key %d", name, k)
		}
	}
}

// Forwards travel on one connection per lane, and only AlterPartition
// takes the lane of its own.
func TestLaneForKey(t *testing.T) {
	if laneForKey(kmsg.AlterPartition.Int16()) != laneAlterPartition {
		t.Error("AlterPartition is not on its own lane")
	}
	for _, k := range []kmsg.Key{kmsg.BrokerHeartbeat, kmsg.BrokerRegistration, kmsg.CreateTopics, kmsg.AllocateProducerIDs} {
		if laneForKey(k.Int16()) != laneControl {
			t.Errorf("%s is not on the control lane", kmsg.NameForKey(k.Int16()))
		}
	}
}

// A leader's AlterPartition delivered late, as the simulator's late
// request fault delivers it: the next write of a forwarded AlterPartition
// by the node is held. Meanwhile the same node's heartbeats, on their own
// connection, go through: the controller takes a follower out of the ISR
// (fenced) and it comes back (unfenced). The late request, computed
// before, then names a stale partition epoch: refused without the
// SkipPartitionEpochCheck defect, so the history stays valid; applied
// with it, and the metadata checker flags the stale change.
//
// The node is a follower forwarding to the leader, or the leader itself,
// whose AlterPartition goes to its own listener (and so can be held).
func TestLateAlterPartitionIsStale(t *testing.T) {
	for _, tc := range []struct {
		planted, viaLeader bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		planted := tc.planted
		t.Run(fmt.Sprintf("planted=%t/via-leader=%t", planted, tc.viaLeader), func(t *testing.T) {
			held := make(chan string, 4)
			trace := func(_ time.Duration, ev string) {
				if strings.Contains(ev, "late delivery: conn") {
					select {
					case held <- ev:
					default:
					}
				}
			}
			c := newTracedCluster(t, 3, trace, func(cfg *Config) {
				cfg.RequestTimeout = 20 * time.Second
				cfg.Controller.Defects.SkipPartitionEpochCheck = planted
			})
			leader := c.leader()
			epochs := activeBrokers(t, c.nodes[leader], 3)
			createTopic(t, c.nodes[leader], "t", 1, 3)
			c.converged()
			from := follower(c, leader) // a node that forwards to the leader
			if tc.viaLeader {
				from = leader
			}
			n := c.nodes[from]
			before, _ := n.Image().Topic("t")
			p := before.Partitions[0]
			member := p.ISR[1]

			c.net.HoldNextWrite(fmt.Sprintf("c%d", from), func(b []byte) bool {
				k, ok := ForwardedRequestKey(b)
				return ok && k == kmsg.AlterPartition.Int16()
			}, 2*time.Second, "AlterPartition")
			// The leader's change: the ISR to itself and member.
			req := leaderISRChange(before, epochs, member)
			type answer struct {
				resp kmsg.Response
				err  error
			}
			answered := make(chan answer, 1)
			go func() {
				resp, err := n.Submit(context.Background(), req)
				answered <- answer{resp, err}
			}()
			select {
			case ev := <-held:
				if !strings.Contains(ev, "AlterPartition") {
					t.Fatalf("held %q", ev)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the AlterPartition was never written")
			}

			// The controller's own change, asked through the same node
			// while its AlterPartition is held.
			fence := kmsg.NewPtrBrokerHeartbeatRequest()
			fence.BrokerID, fence.BrokerEpoch, fence.WantFence = member, epochs[member], true
			if r := submit[*kmsg.BrokerHeartbeatResponse](t, n, fence); r.ErrorCode != 0 || !r.IsFenced {
				t.Fatalf("fence %d: %s fenced=%t", member, kerr.ErrorForCode(r.ErrorCode), r.IsFenced)
			}
			unfenceBroker(t, n, member, epochs[member])
			select {
			case a := <-answered:
				t.Fatalf("the AlterPartition was answered (%v) before the heartbeats written after it", a.err)
			default:
			}
			if now, _ := n.Image().Partition(before.ID, 0); now.PartitionEpoch == p.PartitionEpoch {
				t.Fatalf("the controller did not change the ISR: %+v", now)
			}

			a := <-answered
			if a.err != nil {
				t.Fatalf("the late AlterPartition: %v", a.err)
			}
			checkStaleChange(t, c, a.resp.(*kmsg.AlterPartitionResponse), planted)
		})
	}
}
