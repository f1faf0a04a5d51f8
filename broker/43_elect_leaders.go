package broker

// ElectLeaders v0-2 (kafka-leader-election, weir leaders elect). v1 adds the
// election type (0 preferred, 1 unclean) and a top-level error, v2 is
// flexible. A null topic list means every partition.
//
// The controller decides (broker/controller: a preferred election moves
// leadership to the first replica when it is an active ISR member; an
// unclean one elects a leader for a partition that has none, from outside
// the ISR if it must), so any broker hands the request to the metadata
// quorum, as a KRaft broker forwards it to the active controller. The
// answer comes once the change is committed; this broker then waits
// (bounded) until its own image shows it.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

func init() { register(43, 0, 2, handleElectLeaders) }

func handleElectLeaders(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.ElectLeadersRequest)
	if r.Version == 0 {
		r.ElectionType = 0 // v0 elects preferred leaders only
	}
	ctx, cancel := adminContext(ctx, r.TimeoutMillis)
	defer cancel()
	out, terr := b.submit(ctx, r)
	if terr != nil {
		resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
		resp.ErrorCode = terr.err.Code
		for _, rt := range r.Topics {
			st := kmsg.NewElectLeadersResponseTopic()
			st.Topic = rt.Topic
			for _, idx := range rt.Partitions {
				sp := kmsg.NewElectLeadersResponseTopicPartition()
				sp.Partition, sp.ErrorCode = idx, terr.err.Code
				msg := terr.msg
				sp.ErrorMessage = &msg
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return reply{resp: resp}, nil
	}
	resp := out.(*kmsg.ElectLeadersResponse)
	resp.SetVersion(r.Version)
	b.waitApplied(ctx, func(img *metadata.Image) bool { return elected(img, r.ElectionType, resp) })
	return reply{resp: resp}, nil
}

// elected reports whether img shows every election resp says was made.
func elected(img *metadata.Image, electionType int8, resp *kmsg.ElectLeadersResponse) bool {
	for _, st := range resp.Topics {
		t, ok := img.Topic(st.Topic)
		if !ok {
			continue // deleted meanwhile
		}
		for _, sp := range st.Partitions {
			if sp.ErrorCode != 0 || sp.Partition < 0 || int(sp.Partition) >= len(t.Partitions) {
				continue
			}
			pi := t.Partitions[sp.Partition]
			if !pi.HasLeader() || (electionType == 0 && pi.Leader != pi.Replicas[0]) {
				return false
			}
		}
	}
	return true
}
