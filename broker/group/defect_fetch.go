package group

import "github.com/twmb/franz-go/pkg/kmsg"

// fetchTopicMax is the FetchTopicMax defect: every partition of a topic
// answered with a committed offset gets the highest offset the group
// committed in that topic instead.
func (s *Shard) fetchTopicMax(out *kmsg.OffsetFetchResponseGroup) {
	g := s.groups[out.Group]
	if g == nil {
		return
	}
	for i := range out.Topics {
		hi := int64(-1)
		for _, oc := range g.offsets[out.Topics[i].Topic] {
			hi = max(hi, oc.offset)
		}
		ps := out.Topics[i].Partitions
		for j := range ps {
			if ps[j].Offset >= 0 {
				ps[j].Offset = hi // DEFECT: another partition's offset
			}
		}
	}
}
