package fetchsession

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fixedIDs hands out session id 42 first, then 43, 44...: a fuzzer can
// name a session it opened.
type fixedIDs struct{ next int32 }

func (f *fixedIDs) Int32N(int32) int32 { f.next++; return 40 + f.next }

// FuzzCache feeds Fetch requests decoded by kmsg from arbitrary bytes (the
// first byte picks the version, 4-17) to a cache, each one read from a
// model and finished. Whatever the requests, the cache must not panic,
// answer only Kafka's session errors, hold no more sessions than its
// slots, read every partition of a session in an incremental fetch, and
// answer only partitions it read.
func FuzzCache(f *testing.F) {
	for v := int16(4); v <= 17; v++ {
		for _, epoch := range []int32{0, -1, 1, 2} {
			req := kmsg.NewPtrFetchRequest()
			req.Version = v
			req.SessionID, req.SessionEpoch = 0, epoch
			if epoch > 0 {
				req.SessionID = 42
			}
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = "a", [16]byte{'a'}
			p := kmsg.NewFetchRequestTopicPartition()
			p.PartitionMaxBytes = 2
			t.Partitions = append(t.Partitions, p)
			req.Topics = append(req.Topics, t)
			ft := kmsg.NewFetchRequestForgottenTopic()
			ft.Topic, ft.TopicID, ft.Partitions = "a", [16]byte{'a'}, []int32{0}
			req.ForgottenTopics = append(req.ForgottenTopics, ft)
			f.Add(append([]byte{byte(v - 4)}, req.AppendTo(nil)...))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		m := newModel()
		m.topicID("a")
		m.part("a", [16]byte{}, 0).hw = 3
		c := New(Config{Slots: 2, EvictAfter: time.Second}, &fixedIDs{})
		now := time.Unix(0, 0)
		version := int16(4 + int(data[0])%14)
		// Open session 42 first, so incremental requests can reach it.
		open := kmsg.NewPtrFetchRequest()
		open.Version, open.SessionEpoch = version, 0
		open.Topics = []kmsg.FetchRequestTopic{{Topic: "a", TopicID: [16]byte{'a'}, Partitions: []kmsg.FetchRequestTopicPartition{{PartitionMaxBytes: 2}}}}
		fo := c.Begin(open, true, now)
		c.Finish(&fo, m.serve(version, fo.Topics), now)
		for range 2 { // the same bytes twice: the second finds the first's session
			req := kmsg.NewPtrFetchRequest()
			req.Version = version
			if err := req.ReadFrom(data[1:]); err != nil {
				return
			}
			now = now.Add(700 * time.Millisecond)
			fe := c.Begin(req, data[0]&0x80 != 0, now)
			switch fe.Err {
			case 0, kerr.FetchSessionIDNotFound.Code, kerr.InvalidFetchSessionEpoch.Code, kerr.FetchSessionTopicIDError.Code:
			default:
				t.Fatalf("session error %d", fe.Err)
			}
			if fe.Err != 0 {
				continue
			}
			read := 0
			for _, tp := range fe.Topics {
				read += len(tp.Partitions)
			}
			if fe.Kind == Incremental && (read == 0 || read != len(fe.s.parts)) {
				t.Fatalf("incremental fetch reads %d partitions of a session of %d", read, len(fe.s.parts))
			}
			resp := m.serve(version, fe.Topics)
			c.Finish(&fe, resp, now)
			answered := 0
			for _, tp := range resp.Topics {
				answered += len(tp.Partitions)
			}
			if answered > read {
				t.Fatalf("answered %d partitions, read %d", answered, read)
			}
			if c.Len() > 2 {
				t.Fatalf("%d sessions in 2 slots", c.Len())
			}
			if resp.SessionID < 0 {
				t.Fatalf("session id %d", resp.SessionID)
			}
			resp.AppendTo(nil)
		}
	})
}
