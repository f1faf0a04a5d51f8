package fetchsession

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// model is a broker's partitions as the tests see them: each a log of
// one byte per offset, with its high watermark, log start and an error.
// serve answers a read the way the broker's Fetch handler does.
type model struct {
	parts map[Key]*modelPart
	names map[[16]byte]string
}

type modelPart struct {
	end, hw, start int64
	err            int16
}

func newModel() *model {
	return &model{parts: map[Key]*modelPart{}, names: map[[16]byte]string{}}
}

// topicID makes a topic's id from its name, so outputs can print names.
func (m *model) topicID(name string) [16]byte {
	var id [16]byte
	copy(id[:], name)
	m.names[id] = name
	return id
}

// part is the partition a request topic names (by id or by name).
func (m *model) part(topic string, id [16]byte, p int32) *modelPart {
	if topic == "" {
		topic = m.names[id]
	}
	mp := m.parts[Key{Topic: topic, Partition: p}]
	if mp == nil {
		mp = &modelPart{}
		m.parts[Key{Topic: topic, Partition: p}] = mp
	}
	return mp
}

// recordByte is the byte stored at an offset.
func recordByte(off int64) byte { return byte(off*7 + 3) }

// serve answers a read of topics: records from the fetch offset up to the
// high watermark, at most the partition's max bytes (a byte per record).
func (m *model) serve(version int16, topics []kmsg.FetchRequestTopic) *kmsg.FetchResponse {
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = version
	for _, t := range topics {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			mp := m.part(t.Topic, t.TopicID, p.Partition)
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition = p.Partition
			rp.RecordBatches = []byte{}
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = mp.hw, mp.hw, mp.start
			switch {
			case mp.err != 0:
				rp.ErrorCode = mp.err
				rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
			case p.FetchOffset < mp.start || p.FetchOffset > mp.hw:
				rp.ErrorCode = kerr.OffsetOutOfRange.Code
			default:
				for off := p.FetchOffset; off < mp.hw && int32(len(rp.RecordBatches)) < p.PartitionMaxBytes; off++ {
					rp.RecordBatches = append(rp.RecordBatches, recordByte(off))
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// parseTP parses "topic/partition".
func parseTP(s string) (string, int32, error) {
	name, p, ok := strings.Cut(s, "/")
	if !ok {
		return "", 0, fmt.Errorf("want topic/partition, got %q", s)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	return name, int32(n), err
}
