package stream

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// The group ops of a member, as the queue workload's group members record
// them (history version 4): a join per incarnation, an assignment op per
// partition change its client reports, a poll op per poll of the input,
// a commit op per at-least-once commit (a transactional member's commits
// are its transactions' offsets, history.Txn.Offsets), so that the group
// checkers judge the pipeline's group.

// joinOp is the incarnation's join, as its client joins.
func (m *member) joinOp() *history.Join {
	cfg := &m.p.cfg
	j := &history.Join{Group: cfg.Group, Topics: []string{cfg.Input}, Balancer: "cooperative-sticky", ReadCommitted: cfg.Transactional, Events: m.evProc}
	if cfg.Static {
		j.InstanceID = m.p.instanceID(m.slot)
	}
	if cfg.Consumer() {
		j.Protocol = history.ProtocolConsumer
	}
	return j
}

// recordEvent records a change of the incarnation's partitions of the
// input, with the member id and generation (member epoch) its client
// holds as it reports it.
func (m *member) recordEvent(cl *kgo.Client, kind string, changed []int32) {
	m.evMu.Lock()
	defer m.evMu.Unlock()
	for _, p := range changed {
		if kind == history.Assigned {
			m.held[p] = true
		} else {
			delete(m.held, p)
		}
	}
	id, generation := cl.GroupMetadata()
	owned := slices.Sorted(maps.Keys(m.held))
	a := &history.Assignment{Group: m.p.cfg.Group, Member: id, Generation: generation, Event: kind, Topic: m.p.cfg.Input, Owned: owned, Changed: slices.Compact(slices.Sorted(slices.Values(changed)))}
	m.p.rec.Record(history.Op{Process: m.evProc, Type: history.Invoke, F: history.FnAssignment, Assignment: a})
	m.p.rec.Record(history.Op{Process: m.evProc, Type: history.OK, F: history.FnAssignment, Assignment: a})
}

// recordedCommit commits offsets and records the commit; ok when every
// partition was accepted, answered false when the commit had no answer.
func (m *member) recordedCommit(ctx context.Context, offsets map[int32]int64) (ok, answered bool) {
	cfg := &m.p.cfg
	id, generation := m.cl.GroupMetadata()
	// kgo would send the member id as metadata; the process names the
	// commit instead, set on the request as recorded.
	metadata := fmt.Sprintf("p%d", m.proc.ID)
	ctx = kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			for j := range req.Topics[i].Partitions {
				if req.Topics[i].Topic == cfg.Input {
					req.Topics[i].Partitions[j].Metadata = &metadata
				}
			}
		}
		return nil
	})
	var offs []history.GroupOffset
	for _, p := range slices.Sorted(maps.Keys(offsets)) {
		offs = append(offs, history.GroupOffset{Topic: cfg.Input, Partition: p, Offset: offsets[p], LeaderEpoch: history.Unknown, Metadata: metadata})
	}
	c := &history.Commit{Group: cfg.Group, Member: id, Generation: generation, Offsets: offs}
	m.p.rec.Record(history.Op{Process: m.proc.ID, Type: history.Invoke, F: history.FnCommit, Commit: c})
	eo := map[int32]kgo.EpochOffset{}
	for p, o := range offsets {
		eo[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	var err error
	answer := gen.CommitAnswer{Topic: cfg.Input, Generation: generation}
	m.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{cfg.Input: eo},
		func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, r *kmsg.OffsetCommitResponse, e error) {
			err = e
			answer.Note(req, r)
		})
	done := &history.Commit{Group: c.Group, Member: c.Member, Generation: answer.Generation, Offsets: slices.Clone(offs)}
	op := history.Op{Process: m.proc.ID, Type: history.OK, F: history.FnCommit, Commit: done}
	if err != nil || answer.Resp == nil {
		op.Type, op.Error = history.Info, fmt.Sprint(err)
		m.p.rec.Record(op)
		return false, false
	}
	accepted := answer.MarkCommitted(done.Offsets)
	m.p.rec.Record(op)
	return len(accepted) == len(done.Offsets), true
}
