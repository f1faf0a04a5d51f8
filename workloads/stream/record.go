package stream

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
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
	id, generation := cl.GroupMetadata()
	m.noteHeld(kind, id, changed)
	owned := slices.Sorted(maps.Keys(m.held))
	a := &history.Assignment{Group: m.p.cfg.Group, Member: id, Generation: generation, Event: kind, Topic: m.p.cfg.Input, Owned: owned, Changed: slices.Compact(slices.Sorted(slices.Values(changed)))}
	m.p.rec.Record(history.Op{Process: m.evProc, Type: history.Invoke, F: history.FnAssignment, Assignment: a})
	m.p.rec.Record(history.Op{Process: m.evProc, Type: history.OK, F: history.FnAssignment, Assignment: a})
}

// noteHeld applies a change of the held partitions that the client
// reported as member id. Called with evMu held.
func (m *member) noteHeld(kind, id string, changed []int32) {
	for _, p := range changed {
		if kind == history.Assigned {
			m.held[p] = id
		} else {
			delete(m.held, p)
		}
	}
}

// errStaleClaim refuses a commit that kgo would send under a member id
// other than the one its partitions were assigned to.
var errStaleClaim = errors.New("stream: not sent: the client rejoined under a new member id while holding the partition")

// staleClaim reports (errStaleClaim) whether a commit of parts made as
// member id would commit a partition assigned to another member id of the
// client. kgo answers a JoinGroup's UNKNOWN_MEMBER_ID (the coordinator
// removed the member) by joining again without a member id, keeping the
// partitions it held, their fetch positions and buffered records, with no
// OnPartitionsLost (Java's consumer calls it: the generation was reset);
// a commit made meanwhile waits for that join and sync and goes out with
// the new member id and generation, which the classic coordinator accepts
// whatever the new assignment, as Kafka's does. The member would commit
// what it processed from an assignment another member has had since: seed
// 71144, where the group's offset of clicks/0 went from 417 back to 30
// (nonmonotonic-commit). The assignment is void once the member id
// changed, so is the App's state of it: the incarnation ends instead.
func (m *member) staleClaim(id string, parts []int32) error {
	m.evMu.Lock()
	defer m.evMu.Unlock()
	for _, p := range parts {
		if as, ok := m.held[p]; ok && as != id {
			return fmt.Errorf("%w: %s/%d assigned to %s, commit as %s", errStaleClaim, m.p.cfg.Input, p, as, id)
		}
	}
	return nil
}

// recordedCommit commits offsets and records the commit; ok when every
// partition was accepted, goOn false when the incarnation must end: the
// commit had no answer (or was not sent: staleClaim), or its answer ended
// the member's generation (membershipLost).
func (m *member) recordedCommit(ctx context.Context, offsets map[int32]int64) (ok, goOn bool) {
	cfg := &m.p.cfg
	id, generation := m.cl.GroupMetadata()
	// kgo would send the member id as metadata; the process names the
	// commit instead, set on the request as recorded.
	metadata := fmt.Sprintf("p%d", m.proc.ID)
	parts := slices.Sorted(maps.Keys(offsets))
	ctx = kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		// The request as kgo sends it: after any join and sync it
		// waited for, with the member id they left.
		if err := m.staleClaim(req.MemberID, parts); err != nil {
			return err
		}
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
		if errors.Is(err, errStaleClaim) {
			op.Type = history.Fail // never sent
		}
		m.p.rec.Record(op)
		return false, false
	}
	accepted := answer.MarkCommitted(done.Offsets)
	m.p.rec.Record(op)
	if membershipLost(answer.Resp) {
		return false, false
	}
	return len(accepted) == len(done.Offsets), true
}

// membershipLost reports whether a commit's answer says the member's
// generation is over: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID or
// FENCED_INSTANCE_ID on any partition. Java's consumer then resets its
// generation and calls onPartitionsLost: what it held may be another
// member's already. kgo instead rejoins keeping the partitions, their
// positions and buffered records, with no loss reported, and a static
// member keeps its member id: seed 73109, where a sessionizer's commit
// of clicks/1 was answered ILLEGAL_GENERATION, the coordinator gave the
// partition to another member (which committed 379), and the member,
// rejoined in the next generation before its revoke ran, committed 176
// (nonmonotonic-commit). staleClaim cannot see that (the member id did
// not change), so the member commits nothing more: the incarnation ends,
// as the Java consumer's partitions are lost.
func membershipLost(resp *kmsg.OffsetCommitResponse) bool {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			switch kerr.ErrorForCode(p.ErrorCode) {
			case kerr.IllegalGeneration, kerr.UnknownMemberID, kerr.FencedInstanceID:
				return true
			}
		}
	}
	return false
}
