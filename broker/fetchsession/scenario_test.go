package fetchsession

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// scenario drives one Cache against a model of the broker's partitions.
type scenario struct {
	t     *testing.T
	c     *Cache
	m     *model
	ids   map[int32]string // session id -> s1, s2... in order of appearance
	start time.Time
	held  *heldFetch
}

type heldFetch struct {
	f       Fetch
	version int16
}

// TestScenarios runs testdata/*.txt:
//
//	cache slots=N [evict=D]        a new, empty cache
//	log t/P hw=N [start=N] [err=NAME|none]
//	fetch [v=N] [session=sN|N] [epoch=N] [replica] [at=D] [hold]
//	  t/P offset=N [max=N] [epoch=N]   partitions the request names
//	  forget t/P                       its ForgottenTopics
//	finish [at=D]                  finish the held fetch
//	sessions                       the sessions the cache holds
//
// fetch prints the decision (error, or the kind and what it reads) and,
// unless held, the answer after Finish: the model's partitions as read.
func TestScenarios(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			s := &scenario{t: t, m: newModel(), ids: map[int32]string{}, start: time.Unix(1000, 0)}
			datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
				return s.run(d)
			})
		})
	}
}

func (s *scenario) run(d *datadriven.TestData) string {
	switch d.Cmd {
	case "cache":
		var slots int
		d.ScanArgs(s.t, "slots", &slots)
		evict := 120 * time.Second
		if d.HasArg("evict") {
			evict = s.duration(d, "evict")
		}
		s.c = New(Config{Slots: slots, EvictAfter: evict}, rand.New(rand.NewPCG(1, 2)))
		s.ids = map[int32]string{}
		return ""
	case "log":
		return s.log(d)
	case "fetch":
		return s.fetch(d)
	case "finish":
		if s.held == nil {
			d.Fatalf(s.t, "no held fetch")
		}
		h := s.held
		s.held = nil
		return s.finish(h.version, &h.f, s.at(d))
	case "sessions":
		return s.sessions()
	}
	d.Fatalf(s.t, "unknown command %q", d.Cmd)
	return ""
}

func (s *scenario) duration(d *datadriven.TestData, key string) time.Duration {
	var v string
	d.ScanArgs(s.t, key, &v)
	dur, err := time.ParseDuration(v)
	if err != nil {
		d.Fatalf(s.t, "%s: %v", key, err)
	}
	return dur
}

func (s *scenario) at(d *datadriven.TestData) time.Time {
	if !d.HasArg("at") {
		return s.start
	}
	return s.start.Add(s.duration(d, "at"))
}

func (s *scenario) log(d *datadriven.TestData) string {
	name, p, err := parseTP(d.CmdArgs[0].Key)
	if err != nil {
		d.Fatalf(s.t, "%v", err)
	}
	mp := s.m.part(name, [16]byte{}, p)
	s.m.topicID(name)
	d.ScanArgs(s.t, "hw", &mp.hw)
	mp.end = mp.hw
	if d.HasArg("start") {
		d.ScanArgs(s.t, "start", &mp.start)
	}
	if d.HasArg("err") {
		var e string
		d.ScanArgs(s.t, "err", &e)
		mp.err = errCode(s.t, e)
	}
	return ""
}

func errCode(t *testing.T, name string) int16 {
	if name == "none" {
		return 0
	}
	for code := int16(-1); code < 200; code++ {
		if e := kerr.ErrorForCode(code); e != nil {
			if ke, ok := e.(*kerr.Error); ok && ke.Message == name {
				return code
			}
		}
	}
	t.Fatalf("unknown error %q", name)
	return 0
}

func errName(code int16) string {
	if e, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
		return e.Message
	}
	return strconv.Itoa(int(code))
}

func (s *scenario) fetch(d *datadriven.TestData) string {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 15
	if d.HasArg("v") {
		d.ScanArgs(s.t, "v", &req.Version)
	}
	if d.HasArg("session") {
		var v string
		d.ScanArgs(s.t, "session", &v)
		req.SessionID = s.sessionID(d, v)
	}
	if d.HasArg("epoch") {
		d.ScanArgs(s.t, "epoch", &req.SessionEpoch)
	} else {
		req.SessionEpoch = 0
	}
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if fields[0] == "forget" {
			name, p, err := parseTP(fields[1])
			if err != nil {
				d.Fatalf(s.t, "%v", err)
			}
			ft := kmsg.NewFetchRequestForgottenTopic()
			s.name(req.Version, name, &ft.Topic, &ft.TopicID)
			ft.Partitions = []int32{p}
			req.ForgottenTopics = append(req.ForgottenTopics, ft)
			continue
		}
		name, p, err := parseTP(fields[0])
		if err != nil {
			d.Fatalf(s.t, "%v", err)
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = p
		rp.PartitionMaxBytes = 1 << 20
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				d.Fatalf(s.t, "%s: %v", f, err)
			}
			switch k {
			case "offset":
				rp.FetchOffset = n
			case "max":
				rp.PartitionMaxBytes = int32(n)
			case "epoch":
				rp.CurrentLeaderEpoch = int32(n)
			default:
				d.Fatalf(s.t, "unknown partition field %q", k)
			}
		}
		rt := kmsg.NewFetchRequestTopic()
		s.name(req.Version, name, &rt.Topic, &rt.TopicID)
		rt.Partitions = []kmsg.FetchRequestTopicPartition{rp}
		req.Topics = append(req.Topics, rt)
	}
	f := s.c.Begin(req, d.HasArg("replica"), s.at(d))
	if f.Err != 0 {
		return fmt.Sprintf("error %s\n", errName(f.Err))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s read:%s\n", f.Kind, s.reads(f.Topics))
	if d.HasArg("hold") {
		s.held = &heldFetch{f: f, version: req.Version}
		return b.String()
	}
	b.WriteString(s.finish(req.Version, &f, s.at(d)))
	return b.String()
}

// name sets a request topic's name (before v13) or id (from v13).
func (s *scenario) name(version int16, name string, topic *string, id *[16]byte) {
	if version >= topicIDVersion {
		*id = s.m.topicID(name)
		return
	}
	*topic = name
}

func (s *scenario) sessionID(d *datadriven.TestData, v string) int32 {
	for id, n := range s.ids {
		if n == v {
			return id
		}
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		d.Fatalf(s.t, "unknown session %q", v)
	}
	return int32(n)
}

func (s *scenario) sessionName(id int32) string {
	if id == 0 {
		return "0"
	}
	if n, ok := s.ids[id]; ok {
		return n
	}
	n := fmt.Sprintf("s%d", len(s.ids)+1)
	s.ids[id] = n
	return n
}

func (s *scenario) topicName(topic string, id [16]byte) string {
	if topic != "" {
		return topic
	}
	return s.m.names[id]
}

func (s *scenario) reads(topics []kmsg.FetchRequestTopic) string {
	var b strings.Builder
	for _, t := range topics {
		for _, p := range t.Partitions {
			fmt.Fprintf(&b, " %s/%d@%d", s.topicName(t.Topic, t.TopicID), p.Partition, p.FetchOffset)
		}
	}
	return b.String()
}

func (s *scenario) finish(version int16, f *Fetch, now time.Time) string {
	resp := s.m.serve(version, f.Topics)
	s.c.Finish(f, resp, now)
	var b strings.Builder
	fmt.Fprintf(&b, "answer session=%s", s.sessionName(resp.SessionID))
	if resp.ErrorCode != 0 {
		fmt.Fprintf(&b, " error=%s", errName(resp.ErrorCode))
	}
	b.WriteString("\n")
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			fmt.Fprintf(&b, "  %s/%d hw=%d start=%d records=%d", s.topicName(t.Topic, t.TopicID), p.Partition, p.HighWatermark, p.LogStartOffset, len(p.RecordBatches))
			if p.ErrorCode != 0 {
				fmt.Fprintf(&b, " err=%s", errName(p.ErrorCode))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func (s *scenario) sessions() string {
	var lines []string
	for id, sess := range s.c.sessions {
		var parts []string
		for _, cp := range sess.parts {
			parts = append(parts, fmt.Sprintf("%s/%d@%d", s.topicName(cp.key.Topic, cp.key.TopicID), cp.key.Partition, cp.req.fetchOffset))
		}
		lines = append(lines, fmt.Sprintf("%s follower=%t topic-ids=%t epoch=%d parts=%s", s.sessionName(id), sess.privileged, sess.topicIDs, sess.epoch, strings.Join(parts, ",")))
	}
	slices.Sort(lines)
	if len(lines) == 0 {
		return "none\n"
	}
	return strings.Join(lines, "\n") + "\n"
}
