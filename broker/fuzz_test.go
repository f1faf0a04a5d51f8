package broker

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// FuzzRequest feeds arbitrary frame bodies (what follows the size prefix)
// to the decoder and dispatcher. Whatever the bytes, the broker must not
// panic, must answer or close, and any answer must encode.
func FuzzRequest(f *testing.F) {
	for _, body := range seedRequests() {
		f.Add(body)
	}
	cfg := DefaultConfig()
	cfg.DataDir = "/data"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := Open(cfg, Deps{FS: memfs.New(), Net: env.OSNet{}, Clock: env.RealClock{}})
	if err != nil {
		f.Fatal(err)
	}
	defer b.Close()
	mustCreateTopic(f, b, "t", 2, nil)
	cc := &conn{b: b, remote: "fuzz"}
	done, cancel := context.WithCancel(context.Background())
	cancel() // finish steps must give up at once, not wait
	f.Fuzz(func(t *testing.T, body []byte) {
		rep, err := cc.handleFrame(context.Background(), body)
		if err != nil {
			return // the connection would close: an allowed answer
		}
		if rep.finish != nil {
			rep.finish(done)
		}
		if rep.resp != nil {
			rep.resp.AppendTo(nil)
		}
	})
}

// seedRequests encodes one valid request per served API and version, so
// the fuzzer starts from frames that reach every handler.
func seedRequests() [][]byte {
	var out [][]byte
	batch := recordtest.Batch(recordtest.Options{}, []byte("v"))
	for key, h := range handlers {
		for v := h.min; v <= h.max; v++ {
			req := kmsg.RequestForKey(key)
			req.SetVersion(v)
			switch r := req.(type) {
			case *kmsg.ProduceRequest:
				r.Acks = -1
				r.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: batch}}}}
			case *kmsg.FetchRequest:
				r.MaxWaitMillis, r.MinBytes = 10, 1
				r.Topics = []kmsg.FetchRequestTopic{{Topic: "t", Partitions: []kmsg.FetchRequestTopicPartition{{Partition: 0, PartitionMaxBytes: 1 << 20}}}}
			case *kmsg.MetadataRequest:
				name := "t"
				r.Topics = []kmsg.MetadataRequestTopic{{Topic: &name}}
			case *kmsg.ListOffsetsRequest:
				r.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: "t", Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: -1}}}}
			case *kmsg.CreateTopicsRequest:
				r.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "new", NumPartitions: 1, ReplicationFactor: 1}}
			case *kmsg.DescribeConfigsRequest:
				r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t"}}
			}
			body := binary.BigEndian.AppendUint16(nil, uint16(key))
			body = binary.BigEndian.AppendUint16(body, uint16(v))
			body = binary.BigEndian.AppendUint32(body, 1)
			body = binary.BigEndian.AppendUint16(body, 0xffff) // null client id
			if req.IsFlexible() {
				body = append(body, 0)
			}
			out = append(out, req.AppendTo(body))
		}
	}
	return out
}
