package fetcher_test

// A fake leader broker for the fetcher's tests: a tiny kmsg server that
// answers Fetch and OffsetForLeaderEpoch for its partitions, each a real
// broker/log with a leader-epoch cache and a replica.Leader. It is also the
// recipe for the broker's side of a follower fetch.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/fetchsession"
	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/epoch"
	"github.com/weir-dev/weir/broker/replica/fetcher"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

type leaderPart struct {
	tp     fetcher.TopicPartition
	log    *wlog.Log
	cache  *epoch.Cache
	leader *replica.Leader
}

func (p *leaderPart) local() replica.Local {
	return replica.Local{End: p.log.EndOffset(), Durable: p.log.SyncedOffset()}
}

type fakeLeader struct {
	t     testing.TB
	id    int32
	clock env.Clock
	fs    *memfs.FS
	// logCfg configures the logs lead opens (the log's defaults if zero).
	logCfg wlog.Config

	mu       sync.Mutex
	parts    map[fetcher.TopicPartition]*leaderPart
	appended chan struct{} // closed and replaced at every append
	fetches  int
	// sessions, once useSessions ran, serves fetch sessions as the
	// broker does; kinds counts the fetches by kind, sessionErrors the
	// session errors answered, partsSent the partitions requests named,
	// conns the connections accepted.
	sessions      *fetchsession.Cache
	kinds         map[fetchsession.Kind]int
	sessionErrors int
	partsSent     int
	conns         int
	byKey         map[idPart]*leaderPart
}

// useSessions makes the leader serve fetch sessions from an empty cache
// (again: as after a restart, every session is gone).
func (s *fakeLeader) useSessions(seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = fetchsession.New(fetchsession.Config{Slots: 10, EvictAfter: time.Minute}, rand.New(rand.NewPCG(seed, seed)))
	if s.kinds == nil {
		s.kinds = map[fetchsession.Kind]int{}
	}
}

func newFakeLeader(t testing.TB, id int32, n env.Net, addr string) *fakeLeader {
	s := &fakeLeader{t: t, id: id, clock: env.RealClock{}, fs: memfs.New(), parts: map[fetcher.TopicPartition]*leaderPart{}, appended: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := n.Listen(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serveConn(ctx, c)
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	return s
}

// lead makes this broker leader of tp with the given epoch and ISR, over a
// log that starts with the given batches (already placed, stamped).
func (s *fakeLeader) lead(tp fetcher.TopicPartition, leaderEpoch int32, isr []int32, replicas []int32, existing ...[]byte) *leaderPart {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := "/" + tp.String()
	l, err := wlog.Open(s.fs, s.clock, dir, s.logCfg)
	if err != nil {
		s.t.Fatal(err)
	}
	cache, _, err := epoch.Open(s.fs, dir, l)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, raw := range existing {
		b, err := record.Parse(raw)
		if err != nil {
			s.t.Fatal(err)
		}
		if err := cache.Assign(b.PartitionLeaderEpoch, b.FirstOffset); err != nil {
			s.t.Fatal(err)
		}
		if _, err := l.AppendReplicated(raw); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		s.t.Fatal(err)
	}
	if err := cache.Assign(leaderEpoch, l.EndOffset()); err != nil {
		s.t.Fatal(err)
	}
	a := replica.Assignment{Leader: s.id, LeaderEpoch: leaderEpoch, PartitionEpoch: 1, Replicas: replicas, ISR: isr}
	p := &leaderPart{tp: tp, log: l, cache: cache}
	local := p.local()
	p.leader, _, err = replica.NewLeader(replica.LeaderConfig{LocalID: s.id, MinInsync: 1, LagTimeMax: time.Minute}, a, local, 0, s.clock.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	s.parts[tp] = p
	s.byKey = nil
	return p
}

// produce appends raw as the leader does: stamped with its epoch, at its
// log end, fsynced.
func (s *fakeLeader) produce(tp fetcher.TopicPartition, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[tp]
	record.SetLeaderEpoch(raw, p.leader.LeaderEpoch())
	if err := p.cache.Assign(p.leader.LeaderEpoch(), p.log.EndOffset()); err != nil {
		s.t.Fatal(err)
	}
	if _, err := p.log.Append(raw); err != nil {
		s.t.Fatal(err)
	}
	if err := p.log.Sync(); err != nil {
		s.t.Fatal(err)
	}
	p.leader.LocalAppended(p.local(), s.clock.Now())
	close(s.appended)
	s.appended = make(chan struct{})
}

func (s *fakeLeader) highWatermark(tp fetcher.TopicPartition) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.parts[tp].leader.HighWatermark()
}

func (s *fakeLeader) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	rd := bufio.NewReader(c)
	for {
		var size [4]byte
		if _, err := io.ReadFull(rd, size[:]); err != nil {
			return
		}
		frame := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(rd, frame); err != nil {
			return
		}
		r := kbin.Reader{Src: frame}
		key, version, corr := r.Int16(), r.Int16(), r.Int32()
		r.NullableString()
		req := kmsg.RequestForKey(key)
		req.SetVersion(version)
		if req.IsFlexible() {
			for n := r.Uvarint(); n > 0; n-- {
				r.Uvarint()
				r.Span(int(r.Uvarint()))
			}
		}
		if err := req.ReadFrom(r.Src); err != nil {
			s.t.Errorf("fake leader: bad %s: %v", kmsg.NameForKey(key), err)
			return
		}
		var resp kmsg.Response
		switch req := req.(type) {
		case *kmsg.FetchRequest:
			resp = s.fetch(ctx, req)
		case *kmsg.OffsetForLeaderEpochRequest:
			resp = s.epochEnds(req)
		default:
			s.t.Errorf("fake leader: unexpected %s", kmsg.NameForKey(key))
			return
		}
		out := binary.BigEndian.AppendUint32(nil, 0)
		out = binary.BigEndian.AppendUint32(out, uint32(corr))
		if resp.IsFlexible() {
			out = append(out, 0)
		}
		out = resp.AppendTo(out)
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (s *fakeLeader) epochEnds(req *kmsg.OffsetForLeaderEpochRequest) *kmsg.OffsetForLeaderEpochResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			p := s.byName(rt.Topic, rp.Partition)
			if p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else {
				sp.ErrorCode, sp.LeaderEpoch, sp.EndOffset = replica.AnswerEpochEnd(p.cache, true, p.leader.LeaderEpoch(), rp.CurrentLeaderEpoch, rp.LeaderEpoch, p.log.EndOffset())
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (s *fakeLeader) byName(topic string, part int32) *leaderPart {
	for tp, p := range s.parts {
		if tp.Topic == topic && tp.Partition == part {
			return p
		}
	}
	return nil
}

func (s *fakeLeader) byID(id [16]byte, part int32) *leaderPart {
	if s.byKey == nil { // built once: a fetch looks up every partition
		s.byKey = map[idPart]*leaderPart{}
	}
	if p := s.byKey[idPart{id, part}]; p != nil {
		return p
	}
	for tp, p := range s.parts {
		if tp.TopicID == id && tp.Partition == part {
			s.byKey[idPart{id, part}] = p
			return p
		}
	}
	return nil
}

type idPart struct {
	id   [16]byte
	part int32
}

// fetch answers a follower's Fetch the way the broker must: check the
// epoch and the replica, check the last fetched epoch for divergence, read
// up to the log end (not the high watermark), record the fetch, answer
// with the high watermark; wait up to MaxWait for an append when there is
// nothing to send.
func (s *fakeLeader) fetch(ctx context.Context, req *kmsg.FetchRequest) *kmsg.FetchResponse {
	s.mu.Lock()
	for _, t := range req.Topics {
		s.partsSent += len(t.Partitions)
	}
	var sess fetchsession.Fetch
	if s.sessions != nil {
		sess = s.sessions.Begin(req, true, s.clock.Now())
		if sess.Err != 0 {
			s.sessionErrors++
			s.mu.Unlock()
			resp := req.ResponseKind().(*kmsg.FetchResponse)
			resp.ErrorCode = sess.Err
			return resp
		}
		s.kinds[sess.Kind]++
		read := *req
		read.Topics = sess.Topics
		req = &read
	}
	s.mu.Unlock()
	for waited := false; ; waited = true {
		s.mu.Lock()
		s.fetches++
		resp, n := s.fetchOnce(req)
		ch := s.appended
		if n > 0 || waited || req.MaxWaitMillis <= 0 {
			if s.sessions != nil {
				s.sessions.Finish(&sess, resp, s.clock.Now())
			}
			s.mu.Unlock()
			return resp
		}
		s.mu.Unlock()
		timer := s.clock.NewTimer(time.Duration(req.MaxWaitMillis) * time.Millisecond)
		select {
		case <-ch:
		case <-timer.C():
		case <-ctx.Done():
		}
		timer.Stop()
	}
}

func (s *fakeLeader) fetchOnce(req *kmsg.FetchRequest) (*kmsg.FetchResponse, int) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	total := 0
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.RecordBatches = []byte{}
			s.fetchPartition(req.ReplicaState.ID, rt.TopicID, rp, &sp)
			total += len(sp.RecordBatches)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, total
}

func (s *fakeLeader) fetchPartition(follower int32, topicID [16]byte, rp kmsg.FetchRequestTopicPartition, sp *kmsg.FetchResponseTopicPartition) {
	p := s.byID(topicID, rp.Partition)
	if p == nil {
		sp.ErrorCode = kerr.UnknownTopicID.Code
		return
	}
	sp.HighWatermark, sp.LogStartOffset = p.leader.HighWatermark(), p.log.StartOffset()
	if sp.ErrorCode = p.leader.CheckFetch(follower, rp.CurrentLeaderEpoch); sp.ErrorCode != 0 {
		return
	}
	end := p.log.EndOffset()
	div := replica.CheckDiverging(p.cache, rp.LastFetchedEpoch, rp.FetchOffset, p.log.StartOffset(), end)
	switch {
	case div.Code != 0:
		sp.ErrorCode = div.Code
		return
	case div.Diverging:
		sp.DivergingEpoch.Epoch, sp.DivergingEpoch.EndOffset = div.Epoch, div.EndOffset
		return
	}
	data, err := p.log.Read(rp.FetchOffset, int(rp.PartitionMaxBytes))
	switch {
	case errors.Is(err, wlog.ErrOffsetOutOfRange):
		sp.ErrorCode = kerr.OffsetOutOfRange.Code
		return
	case err != nil:
		sp.ErrorCode = kerr.KafkaStorageError.Code
		return
	}
	sp.RecordBatches = data
	p.leader.RecordFetch(follower, rp.FetchOffset, end, p.local(), s.clock.Now())
	sp.HighWatermark = p.leader.HighWatermark()
	// The tombstone mark after the read: a read that lacks a tombstone
	// comes with a mark past it.
	m := p.log.TombstoneMark()
	fetcher.SetTombstoneMark(sp, replica.TombstoneMark{Below: m.Below, Gen: m.Gen})
}
