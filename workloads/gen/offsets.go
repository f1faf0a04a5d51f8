package gen

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/history"
)

// OffsetsOp fetches group's committed offsets of topic and returns the
// completion of a history offsets op of process to record. A read has no
// effect: an error is a fail.
func OffsetsOp(ctx context.Context, adm *kadm.Client, process int, group, topic string) history.Op {
	op := history.Op{Process: process, Type: history.OK, F: history.FnOffsets, Offsets: &history.Offsets{Group: group}}
	rs, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = rs.Error()
	}
	if err != nil {
		op.Type, op.Error = history.Fail, err.Error()
		return op
	}
	ps := rs[topic]
	for _, p := range slices.Sorted(maps.Keys(ps)) {
		r := ps[p]
		op.Offsets.Offsets = append(op.Offsets.Offsets, history.GroupOffset{
			Topic: topic, Partition: p, Offset: max(r.At, history.Unknown), LeaderEpoch: max(r.LeaderEpoch, history.Unknown), Metadata: r.Metadata,
		})
	}
	return op
}

// FinalOffsets reads group's committed offsets of topic once the cluster
// healed, retrying until ctx ends (a coordinator may still be loading),
// each attempt bounded by opTimeout, as one offsets op of process.
func FinalOffsets(ctx context.Context, cc ClientConfig, rec *history.Recorder, process int, group, topic string) error {
	cl, err := cc.New()
	if err != nil {
		return err
	}
	defer cl.Close()
	opTimeout, _ := cc.Timeouts()
	adm := kadm.NewClient(cl)
	rec.Record(history.Op{Process: process, Type: history.Invoke, F: history.FnOffsets, Offsets: &history.Offsets{Group: group}})
	for {
		actx, cancel := context.WithTimeout(ctx, opTimeout)
		op := OffsetsOp(actx, adm, process, group, topic)
		cancel()
		if op.Type == history.OK || !Sleep(ctx, 500*time.Millisecond) {
			rec.Record(op)
			if op.Type != history.OK {
				return fmt.Errorf("committed offsets of group %s: %s", group, op.Error)
			}
			return nil
		}
	}
}

// CommitAnswer is what an OffsetCommit of topic returned, for
// MarkCommitted: the request's topic ids (v10 names topics by id), its
// generation and the answer.
type CommitAnswer struct {
	Topic string
	IDs   [][16]byte
	// Generation is the generation (member epoch) of the request answered,
	// once Note saw it; set it beforehand to the one the commit was made
	// with. kgo sends a commit answered STALE_MEMBER_EPOCH again at the
	// member's new epoch, and calls back with that request.
	Generation int32
	Resp       *kmsg.OffsetCommitResponse
}

// Note is a kgo.CommitOffsetsSync callback's body: it keeps the topic ids
// and the generation of req, and the answer.
func (a *CommitAnswer) Note(req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse) {
	a.Resp = resp
	if req == nil {
		return
	}
	a.Generation = req.Generation
	for _, t := range req.Topics {
		if t.Topic == a.Topic && t.TopicID != ([16]byte{}) {
			a.IDs = append(a.IDs, t.TopicID)
		}
	}
}

// MarkCommitted sets, on the offsets of a commit's completion, what the
// answer said of each partition: nothing when accepted, else its error; an
// error leaves the commit indefinite (kgo retries a commit answered with a
// retriable error, and a coordinator that moves while a commit waits to be
// durable answers so after writing it: whatever the last answer, an
// earlier attempt may have committed the offset). It returns the
// partitions accepted.
func (a *CommitAnswer) MarkCommitted(offs []history.GroupOffset) []int32 {
	answered := map[int32]int16{}
	for _, rt := range a.Resp.Topics {
		if rt.Topic != a.Topic && !slices.Contains(a.IDs, rt.TopicID) {
			continue
		}
		for _, rp := range rt.Partitions {
			answered[rp.Partition] = rp.ErrorCode
		}
	}
	var accepted []int32
	for i := range offs {
		o := &offs[i]
		code, ok := answered[o.Partition]
		switch {
		case !ok:
			o.Error = "no answer for the partition"
		case code != 0:
			o.Error, o.Indefinite = kerr.ErrorForCode(code).Error(), true
		default:
			accepted = append(accepted, o.Partition)
		}
	}
	return accepted
}
