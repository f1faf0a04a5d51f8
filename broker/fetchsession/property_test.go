package fetchsession

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"
)

// view is what a consumer knows of a partition after its fetches: its
// position, the bytes it read, and the last high watermark, log start
// and error it was told.
type view struct {
	offset    int64
	data      []byte
	hw, start int64
	err       int16
}

// consumer fetches a set of partitions from the model, through a Client
// (sessions) or with sessionless full fetches.
type consumer struct {
	name    string
	session *Client // nil: full fetches, final epoch
	views   map[Key]*view
	retries int // session errors answered by a full fetch
}

const propMaxBytes = 3 // per partition per fetch: reads take several rounds

// TestIncrementalSameAsFull checks that consumers fetching through
// incremental sessions read, round after round, exactly what a consumer
// fetching with full sessionless fetches reads, partition by partition
// (records, high watermark, log start, errors), while the logs grow,
// their starts move, errors come and go, the wanted partitions change,
// connections fail, the broker restarts (losing its sessions) and the
// cache's few slots make sessions evict each other.
func TestIncrementalSameAsFull(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		version := rapid.SampledFrom([]int16{12, 15}).Draw(t, "version")
		slots := rapid.IntRange(0, 2).Draw(t, "slots")
		evictAfter := time.Duration(rapid.IntRange(1, 5).Draw(t, "evictAfterSeconds")) * time.Second
		seed := uint64(1)
		newCache := func() *Cache {
			seed++
			return New(Config{Slots: slots, EvictAfter: evictAfter}, rand.New(rand.NewPCG(seed, 7)))
		}
		cache := newCache()
		m := newModel()
		var all []Key
		for _, name := range []string{"a", "b"} {
			m.topicID(name)
			for p := range int32(3) {
				all = append(all, Key{Topic: name, Partition: p})
				m.part(name, [16]byte{}, p)
			}
		}
		full := &consumer{name: "full", views: map[Key]*view{}}
		sessions := []*consumer{
			{name: "s1", session: &Client{}, views: map[Key]*view{}},
			{name: "s2", session: &Client{}, views: map[Key]*view{}},
		}
		everyone := append([]*consumer{full}, sessions...)
		wanted := map[Key]bool{all[0]: true, all[3]: true}
		for _, c := range everyone {
			for k := range wanted {
				c.views[k] = &view{}
			}
		}
		now := time.Unix(1000, 0)
		pick := func(t *rapid.T) (Key, *modelPart) {
			k := rapid.SampledFrom(all).Draw(t, "partition")
			return k, m.parts[k]
		}
		t.Repeat(map[string]func(*rapid.T){
			"append": func(t *rapid.T) {
				_, mp := pick(t)
				mp.hw += int64(rapid.IntRange(1, 5).Draw(t, "records"))
				mp.end = mp.hw
			},
			"advanceStart": func(t *rapid.T) {
				_, mp := pick(t)
				mp.start = min(mp.hw, mp.start+int64(rapid.IntRange(1, 4).Draw(t, "by")))
			},
			"toggleError": func(t *rapid.T) {
				_, mp := pick(t)
				if mp.err == 0 {
					mp.err = kerr.NotLeaderForPartition.Code
				} else {
					mp.err = 0
				}
			},
			"toggleWanted": func(t *rapid.T) {
				k, _ := pick(t)
				wanted[k] = !wanted[k]
				for _, c := range everyone {
					if wanted[k] {
						c.views[k] = &view{}
					} else {
						delete(c.views, k)
					}
				}
			},
			"connectionFails": func(t *rapid.T) {
				rapid.SampledFrom(sessions).Draw(t, "consumer").session.Failed()
			},
			"brokerRestarts": func(t *rapid.T) { cache = newCache() },
			"time": func(t *rapid.T) {
				now = now.Add(time.Duration(rapid.IntRange(1, 3000).Draw(t, "ms")) * time.Millisecond)
			},
			"round": func(t *rapid.T) {
				order := rapid.Permutation(everyone).Draw(t, "order")
				for _, c := range order {
					c.fetch(t, cache, m, version, now)
				}
				for _, s := range sessions {
					for k, want := range full.views {
						got := s.views[k]
						if got.offset != want.offset || !bytes.Equal(got.data, want.data) || got.hw != want.hw || got.start != want.start || got.err != want.err {
							t.Fatalf("%s's view of %s/%d differs from full fetches: %+v, want %+v", s.name, k.Topic, k.Partition, *got, *want)
						}
					}
				}
			},
		})
	})
}

// fetch runs one fetch of every wanted partition, answered by cache and
// m; a session error is answered, as the replica fetcher does, by a full
// fetch at once.
func (c *consumer) fetch(t *rapid.T, cache *Cache, m *model, version int16, now time.Time) {
	for attempt := 0; ; attempt++ {
		if attempt == 2 {
			t.Fatalf("%s: a full fetch after a session error failed too", c.name)
		}
		req := kmsg.NewPtrFetchRequest()
		req.Version = version
		want := c.want(m, version)
		if c.session == nil {
			req.SessionID, req.SessionEpoch, req.Topics = 0, FinalEpoch, want
		} else {
			c.session.Build(req, want)
		}
		// The request goes over the wire: the broker sees its decoding.
		wire := req.AppendTo(nil)
		decoded := kmsg.NewPtrFetchRequest()
		decoded.Version = version
		if err := decoded.ReadFrom(wire); err != nil {
			t.Fatalf("decoding the request: %v", err)
		}
		f := cache.Begin(decoded, false, now)
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = version
		if f.Err != 0 {
			resp.ErrorCode = f.Err
		} else {
			resp = m.serve(version, f.Topics)
			cache.Finish(&f, resp, now)
		}
		if c.session != nil {
			if err := c.session.Done(resp); err != nil {
				c.retries++
				continue
			}
		} else if resp.SessionID != 0 || resp.ErrorCode != 0 {
			t.Fatalf("a sessionless fetch was answered with session %d, error %d", resp.SessionID, resp.ErrorCode)
		}
		c.apply(resp, version)
		return
	}
}

// want lists the wanted partitions with the consumer's positions, in a
// fixed order.
func (c *consumer) want(m *model, version int16) []kmsg.FetchRequestTopic {
	keys := make([]Key, 0, len(c.views))
	for k := range c.views {
		keys = append(keys, k)
	}
	sortKeys(keys)
	var out []kmsg.FetchRequestTopic
	for _, k := range keys {
		if n := len(out); n == 0 || out[n-1].Topic != k.Topic {
			t := kmsg.NewFetchRequestTopic()
			t.Topic = k.Topic
			if version >= topicIDVersion {
				t.TopicID = m.topicID(k.Topic)
			}
			out = append(out, t)
		}
		p := kmsg.NewFetchRequestTopicPartition()
		p.Partition = k.Partition
		p.FetchOffset = c.views[k].offset
		p.PartitionMaxBytes = propMaxBytes
		out[len(out)-1].Partitions = append(out[len(out)-1].Partitions, p)
	}
	return out
}

// apply takes in an answer: records extend the position; an offset out of
// range moves it to the log start.
func (c *consumer) apply(resp *kmsg.FetchResponse, version int16) {
	seen := map[Key]bool{}
	for _, t := range resp.Topics {
		name := t.Topic
		if version >= topicIDVersion {
			name = string(bytes.TrimRight(t.TopicID[:], "\x00"))
		}
		for _, p := range t.Partitions {
			k := Key{Topic: name, Partition: p.Partition}
			v := c.views[k]
			if v == nil || seen[k] {
				panic(fmt.Sprintf("%s: answer for %v, not wanted or twice", c.name, k))
			}
			seen[k] = true
			v.hw, v.start, v.err = p.HighWatermark, p.LogStartOffset, p.ErrorCode
			if p.ErrorCode == kerr.OffsetOutOfRange.Code {
				v.offset = p.LogStartOffset
				continue
			}
			v.data = append(v.data, p.RecordBatches...)
			v.offset += int64(len(p.RecordBatches))
		}
	}
	if c.session == nil && len(seen) != len(c.views) {
		panic(fmt.Sprintf("%s: a full answer left out partitions: %d of %d", c.name, len(seen), len(c.views)))
	}
}
