package fetcher

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzDecodeResponse: a response frame from a leader (outside bytes) is
// decoded or refused, never a panic; the header's tag count is bounded by
// the bytes left. (Tag counts inside the body are kmsg's to bound: a huge
// one costs seconds of CPU before the decode fails, the known limit
// docs/ARCHITECTURE.md records for requests; -fuzz finds such an input
// and reports it as slow.)
func FuzzDecodeResponse(f *testing.F) {
	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version = fetchVersion
	resp := fetch.ResponseKind().(*kmsg.FetchResponse)
	t := kmsg.NewFetchResponseTopic()
	p := kmsg.NewFetchResponseTopicPartition()
	p.RecordBatches = []byte{1, 2, 3}
	p.DivergingEpoch.Epoch = 4
	t.Partitions = append(t.Partitions, p)
	resp.Topics = append(resp.Topics, t)
	frame := binary.BigEndian.AppendUint32(nil, 1)
	frame = append(frame, 0)
	f.Add(resp.AppendTo(frame), false)
	epochs := kmsg.NewPtrOffsetForLeaderEpochRequest()
	epochs.Version = epochEndVersion
	f.Add(epochs.ResponseKind().AppendTo(append(binary.BigEndian.AppendUint32(nil, 1), 0)), true)
	f.Add([]byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, false)
	f.Fuzz(func(t *testing.T, frame []byte, asEpochs bool) {
		var req kmsg.Request = fetch
		if asEpochs {
			req = epochs
		}
		_, _ = decodeResponse(req, 1, frame)
	})
}
