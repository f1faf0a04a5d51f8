package broker_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchSpy is a TCP proxy in front of a broker that decodes the Fetch
// requests passing through and keeps their session fields.
type fetchSpy struct {
	t      *testing.T
	ln     net.Listener
	target string // the broker's address, set before clients connect

	mu      sync.Mutex
	fetches []spiedFetch
}

type spiedFetch struct {
	sessionID, epoch int32
	partitions       int
}

func startFetchSpy(t *testing.T) *fetchSpy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fetchSpy{t: t, ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.relay(c)
			}()
		}
	}()
	return s
}

func (s *fetchSpy) relay(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", s.target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(c, up) //nolint:errcheck // ends when either side closes
	for {
		var size [4]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		frame := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(c, frame); err != nil {
			return
		}
		s.inspect(frame)
		if _, err := up.Write(append(size[:], frame...)); err != nil {
			return
		}
	}
}

// inspect decodes a request frame's header and, for a Fetch, its body.
func (s *fetchSpy) inspect(frame []byte) {
	r := kbin.Reader{Src: frame}
	key, version := r.Int16(), r.Int16()
	r.Int32() // correlation id
	r.NullableString()
	if key != 1 {
		return
	}
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(version)
	if req.IsFlexible() {
		for n := r.Uvarint(); n > 0; n-- {
			r.Uvarint()
			r.Span(int(r.Uvarint()))
		}
	}
	if err := req.ReadFrom(r.Src); err != nil {
		s.t.Errorf("spy: undecodable Fetch v%d: %v", version, err)
		return
	}
	n := 0
	for _, t := range req.Topics {
		n += len(t.Partitions)
	}
	s.mu.Lock()
	s.fetches = append(s.fetches, spiedFetch{req.SessionID, req.SessionEpoch, n})
	s.mu.Unlock()
}

// A franz-go consumer gets a fetch session from the broker and uses it:
// after its first full fetch, its requests carry a non-zero session id
// and growing epochs, naming only the partitions whose offsets moved,
// and it reads every record, in order, while a producer keeps writing.
func TestConsumerUsesFetchSession(t *testing.T) {
	spy := startFetchSpy(t)
	cfg := newConfig(t)
	cfg.AdvertisedAddr = spy.ln.Addr().String()
	tb := startBroker(t, cfg)
	spy.target = tb.addr
	const topic, partitions, perRound, rounds = "sessions", 4, 10, 4
	tb.createTopic(topic, partitions, nil)

	producer := tb.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	consumer := tb.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(50*time.Millisecond))
	ctx := ctxT(t)
	got := map[int32][]string{}
	want := map[int32][]string{}
	read := 0
	for round := range rounds {
		// Each round writes to one partition only: the others stay idle.
		part := int32(round % partitions)
		for i := range perRound {
			v := fmt.Sprintf("r%d-%d", round, i)
			want[part] = append(want[part], v)
			if err := producer.ProduceSync(ctx, &kgo.Record{Partition: part, Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		for read < (round+1)*perRound {
			fs := consumer.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				t.Fatalf("read %d of %d records: %v", read, (round+1)*perRound, err)
			}
			fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
			fs.EachRecord(func(r *kgo.Record) {
				got[r.Partition] = append(got[r.Partition], string(r.Value))
				read++
			})
		}
	}
	for p := range int32(partitions) {
		if fmt.Sprint(got[p]) != fmt.Sprint(want[p]) {
			t.Fatalf("partition %d: read %v, want %v", p, got[p], want[p])
		}
	}
	// Give the consumer a few idle long polls in the session.
	time.Sleep(300 * time.Millisecond)

	spy.mu.Lock()
	defer spy.mu.Unlock()
	var incremental, narrow int
	var id, lastEpoch int32
	for _, f := range spy.fetches {
		if f.sessionID == 0 {
			continue
		}
		if f.epoch <= 0 {
			t.Errorf("a request with session id %d has epoch %d: the client dropped or closed its session", f.sessionID, f.epoch)
			continue
		}
		if id != 0 && (f.sessionID != id || f.epoch != lastEpoch+1) {
			t.Errorf("session %d epoch %d after session %d epoch %d: the client had to start over", f.sessionID, f.epoch, id, lastEpoch)
		}
		id, lastEpoch = f.sessionID, f.epoch
		incremental++
		if f.partitions < partitions {
			narrow++
		}
	}
	if incremental < rounds {
		t.Fatalf("%d incremental fetches among %d fetches: the consumer did not get (or keep) a session", incremental, len(spy.fetches))
	}
	if narrow == 0 {
		t.Fatalf("every incremental fetch named all %d partitions", partitions)
	}
	t.Logf("%d fetches, %d in session %d, %d naming fewer than %d partitions", len(spy.fetches), incremental, id, narrow, partitions)
}
