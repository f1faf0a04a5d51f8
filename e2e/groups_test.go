package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Consumer groups end to end: real `weir serve` processes, consumers that
// are processes too (weir consume, kcat -G, kafka-python, confluent-kafka)
// and franz-go; members join, are killed, rejoin; what they read and
// committed is checked against the topic and against `weir groups
// describe`.

// groupWait bounds every wait for a group to settle or records to arrive:
// sessions here last 6 s, and a rebalance takes a few heartbeats.
const groupWait = 90 * time.Second

// startGroupServer is a broker whose groups form without Kafka's 3 s
// initial delay.
func startGroupServer(t *testing.T) *server {
	t.Helper()
	props := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(props, []byte("group.initial.rebalance.delay.ms=0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return startServer(t, "--config", props)
}

// proc is a long-running client process whose output the test reads while
// it runs.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	exited chan struct{}
	err    error
}

func startProc(t *testing.T, name string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: exec.Command(bin, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", name, p.stdout.String(), name, p.stderr.String())
		}
	})
	return p
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) kill() {
	if p.running() {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	}
}

// stop sends SIGTERM and returns the exit code once it exited.
func (p *proc) stop() int {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.kill()
		p.t.Fatalf("%s did not exit within %v of SIGTERM", p.name, stopTimeout)
	}
	return p.cmd.ProcessState.ExitCode()
}

// wait waits for the process to exit on its own.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(commandTimeout):
		p.kill()
		p.t.Fatalf("%s still running after %v", p.name, commandTimeout)
	}
	return p.cmd.ProcessState.ExitCode()
}

// position is a record's place in a topic.
type position struct {
	partition int32
	offset    int64
}

// printed parses the process's "partition|offset|value" lines.
func (p *proc) printed() map[position]string {
	out := map[position]string{}
	for _, l := range strings.Split(p.stdout.String(), "\n") {
		f := strings.SplitN(l, "|", 3)
		if len(f) != 3 {
			continue
		}
		// weir consume prints Partition:N|Offset:N|value, kcat N|N|value.
		part, err1 := strconv.ParseInt(strings.TrimPrefix(f[0], "Partition:"), 10, 32)
		off, err2 := strconv.ParseInt(strings.TrimPrefix(f[1], "Offset:"), 10, 64)
		if err1 == nil && err2 == nil {
			out[position{int32(part), off}] = f[2]
		}
	}
	return out
}

// produceRound writes perPartition records to every partition, valued
// "<round>-<partition>-<i>", and returns where each landed.
func produceRound(t *testing.T, s *server, topic string, partitions int32, round, perPartition int) map[position]string {
	t.Helper()
	cl := s.client(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	out := map[position]string{}
	for p := int32(0); p < partitions; p++ {
		for i := 0; i < perPartition; i++ {
			v := fmt.Sprintf("r%d-%d-%d", round, p, i)
			r := &kgo.Record{Partition: p, Value: []byte(v)}
			if err := cl.ProduceSync(testCtx(t), r).FirstErr(); err != nil {
				t.Fatalf("producing %s: %v", v, err)
			}
			out[position{p, r.Offset}] = v
		}
	}
	cl.Close()
	return out
}

// eventually polls cond until it holds or groupWait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(groupWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readBy reports which processes printed each record of want (missing
// records are absent).
func readBy(want map[position]string, procs ...*proc) map[position][]string {
	by := map[position][]string{}
	for _, p := range procs {
		for pos, v := range p.printed() {
			if want[pos] == v {
				by[pos] = append(by[pos], p.name)
			}
		}
	}
	return by
}

// groupMembers is the group's state and each member's client id with the
// partitions assigned to it.
func groupMembers(t *testing.T, s *server, group string) (string, map[string][]int32) {
	t.Helper()
	d, err := s.admin(t).DescribeGroups(testCtx(t), group)
	if err != nil {
		return "", nil
	}
	g := d[group]
	members := map[string][]int32{}
	for _, m := range g.Members {
		var parts []int32
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range a.Topics {
				parts = append(parts, tp.Partitions...)
			}
		}
		members[m.ClientID] = parts
	}
	return g.State, members
}

// waitStable waits for the group to be stable with exactly these members
// (client ids), each with at least one partition.
func waitStable(t *testing.T, s *server, group string, clients ...string) map[string][]int32 {
	t.Helper()
	var members map[string][]int32
	eventually(t, fmt.Sprintf("group %s stable with %v", group, clients), func() bool {
		var state string
		state, members = groupMembers(t, s, group)
		if state != "Stable" || len(members) != len(clients) {
			return false
		}
		for _, c := range clients {
			if len(members[c]) == 0 {
				return false
			}
		}
		return true
	})
	return members
}

// describedOffsets parses `weir groups describe`: partition -> current,
// log end, lag, consumer (client id column).
type describedRow struct {
	current, end, lag, client string
}

func describeGroup(t *testing.T, s *server, group string) map[int32]describedRow {
	t.Helper()
	r := mustWeir(t, "", "groups", "describe", "--bootstrap-server", s.addr, "--group", group)
	rows := map[int32]describedRow{}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID" {
		t.Fatalf("weir groups describe: %s", r)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 9 || f[0] != group {
			t.Fatalf("weir groups describe: row %q", l)
		}
		p, err := strconv.ParseInt(f[2], 10, 32)
		if err != nil {
			t.Fatalf("weir groups describe: row %q", l)
		}
		rows[int32(p)] = describedRow{current: f[3], end: f[4], lag: f[5], client: f[8]}
	}
	return rows
}

// weirConsumer starts `weir consume --group` printing partition|offset|value.
func weirConsumer(t *testing.T, s *server, group, topic, name string, extra ...string) *proc {
	args := []string{"consume", "--bootstrap-server", s.addr, "--topic", topic, "--group", group, "--from-beginning",
		"--property", "print.partition=true", "--property", "print.offset=true", "--property", "key.separator=|",
		"--consumer-property", "client.id=" + name,
		"--consumer-property", "session.timeout.ms=6000",
		"--consumer-property", "heartbeat.interval.ms=500",
		"--consumer-property", "auto.commit.interval.ms=500",
	}
	return startProc(t, name, weirBin, append(args, extra...)...)
}

// TestGroupFailoverWeirConsume: three `weir consume --group` processes
// share a topic's partitions, one record each; one is killed -9 and after
// its session timeout the others read its partitions; a fourth joins and
// gets partitions; all stop with SIGTERM having committed what they
// printed, `weir groups describe` shows it, and a restarted consumer
// resumes exactly there: no record skipped, and none read twice except
// the killed member's uncommitted tail.
func TestGroupFailoverWeirConsume(t *testing.T) {
	t.Parallel()
	s := startGroupServer(t)
	const topic, group, partitions = "orders", "billing", 6
	s.createTopic(t, topic, partitions, nil)
	all := map[position]string{}
	add := func(m map[position]string) map[position]string {
		for k, v := range m {
			all[k] = v
		}
		return m
	}

	a := weirConsumer(t, s, group, topic, "a")
	b := weirConsumer(t, s, group, topic, "b")
	c := weirConsumer(t, s, group, topic, "c")
	members := waitStable(t, s, group, "a", "b", "c")

	round1 := add(produceRound(t, s, topic, partitions, 1, 5))
	eventually(t, "round 1 read", func() bool { return len(readBy(round1, a, b, c)) == len(round1) })
	owner := map[int32]string{}
	for name, parts := range members {
		for _, p := range parts {
			owner[p] = name
		}
	}
	for pos, who := range readBy(round1, a, b, c) {
		if len(who) != 1 || who[0] != owner[pos.partition] {
			t.Errorf("round 1 record %v read by %v; partition %d is %s's", pos, who, pos.partition, owner[pos.partition])
		}
	}

	// c dies without leaving: its partitions move after its session.
	c.kill()
	killedParts := members["c"]
	members = waitStable(t, s, group, "a", "b")
	round2 := add(produceRound(t, s, topic, partitions, 2, 5))
	eventually(t, "round 2 read by a and b", func() bool { return len(readBy(round2, a, b)) == len(round2) })
	for _, p := range killedParts {
		if !containsInt32(members["a"], p) && !containsInt32(members["b"], p) {
			t.Errorf("partition %d of the killed member is not assigned: %v", p, members)
		}
	}

	// A new member joins and the group rebalances to include it.
	d := weirConsumer(t, s, group, topic, "d")
	waitStable(t, s, group, "a", "b", "d")
	round3 := add(produceRound(t, s, topic, partitions, 3, 5))
	eventually(t, "round 3 read", func() bool { return len(readBy(round3, a, b, d)) == len(round3) })
	if len(readBy(round3, d)) == 0 {
		t.Errorf("the new member read nothing of round 3")
	}

	// Everyone stops cleanly, committing what it printed.
	for _, p := range []*proc{a, b, d} {
		if code := p.stop(); code != 0 {
			t.Fatalf("%s exited %d", p.name, code)
		}
	}
	rows := describeGroup(t, s, group)
	for p := int32(0); p < partitions; p++ {
		if r := rows[p]; r.current != "15" || r.end != "15" || r.lag != "0" || r.client != "-" {
			t.Errorf("describe partition %d: %+v, want committed 15 of 15, no consumer", p, r)
		}
	}

	// A restarted consumer resumes at the committed offsets.
	round4 := add(produceRound(t, s, topic, partitions, 4, 2))
	e := weirConsumer(t, s, group, topic, "e", "--timeout-ms", "8000")
	if code := e.wait(); code != 0 {
		t.Fatalf("e exited %d", code)
	}
	if got := e.printed(); len(got) != len(round4) || len(readBy(round4, e)) != len(round4) {
		t.Fatalf("the restarted consumer read %d records, want exactly round 4's %d: %v", len(got), len(round4), got)
	}

	// Nothing skipped, and only the killed member's uncommitted tail read
	// twice.
	by := readBy(all, a, b, c, d, e)
	for pos, v := range all {
		switch who := by[pos]; {
		case len(who) == 0:
			t.Errorf("record %v (%s) was never read", pos, v)
		case len(who) > 1 && (len(who) > 2 || !containsString(who, "c") || !containsInt32(killedParts, pos.partition)):
			t.Errorf("record %v (%s) read by %v", pos, v, who)
		}
	}
}

func containsInt32(xs []int32, x int32) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestGroupKcat: two `kcat -G` members share a topic; one is killed -9 and
// the other takes its partitions after the session timeout; what kcat
// committed is what `weir groups describe` shows.
func TestGroupKcat(t *testing.T) {
	t.Parallel()
	kcat := needKcat(t)
	s := startGroupServer(t)
	const topic, group, partitions = "clicks", "kcat-readers", 4
	s.createTopic(t, topic, partitions, nil)
	member := func(name string) *proc {
		return startProc(t, name, kcat, "-b", s.addr, "-G", group, "-f", "%p|%o|%s\n", "-q", "-u",
			"-X", "client.id="+name, "-X", "session.timeout.ms=6000", "-X", "auto.commit.interval.ms=500",
			"-X", "auto.offset.reset=earliest", topic)
	}
	k1, k2 := member("k1"), member("k2")
	members := waitStable(t, s, group, "k1", "k2")
	round1 := produceRound(t, s, topic, partitions, 1, 5)
	eventually(t, "round 1 read", func() bool { return len(readBy(round1, k1, k2)) == len(round1) })
	for pos, who := range readBy(round1, k1, k2) {
		if len(who) != 1 || !containsInt32(members[who[0]], pos.partition) {
			t.Errorf("record %v read by %v; assignment %v", pos, who, members)
		}
	}
	k2.kill()
	waitStable(t, s, group, "k1")
	round2 := produceRound(t, s, topic, partitions, 2, 5)
	eventually(t, "round 2 read by k1", func() bool { return len(readBy(round2, k1)) == len(round2) })
	if code := k1.stop(); code != 0 {
		t.Fatalf("kcat exited %d: %s", code, k1.stderr.String())
	}
	for p, r := range describeGroup(t, s, group) {
		if r.current != "10" || r.end != "10" || r.lag != "0" {
			t.Errorf("describe partition %d: %+v, want kcat's commit of 10 of 10", p, r)
		}
	}
}

// pyGroupRun is what the group scripts print.
type pyGroupRun struct {
	Consumed  [][2]int64       `json:"consumed"`  // [partition, offset]
	Committed map[string]int64 `json:"committed"` // partition -> offset
	Members   map[string][]int `json:"members"`   // member name -> partitions (confluent)
}

// checkCommittedDescribed compares the offsets a client says it committed
// with `weir groups describe`.
func checkCommittedDescribed(t *testing.T, s *server, group string, committed map[string]int64, end int64) {
	t.Helper()
	rows := describeGroup(t, s, group)
	if len(rows) != len(committed) {
		t.Fatalf("describe shows %d partitions, the client committed %d: %v vs %v", len(rows), len(committed), rows, committed)
	}
	for ps, off := range committed {
		p, _ := strconv.Atoi(ps)
		r := rows[int32(p)]
		if r.current != strconv.FormatInt(off, 10) || r.end != strconv.FormatInt(end, 10) || r.lag != strconv.FormatInt(end-off, 10) {
			t.Errorf("partition %d: describe %+v, client committed %d of %d", p, r, off, end)
		}
	}
}

// TestGroupKafkaPython: a kafka-python KafkaConsumer with group_id reads
// part of a topic and commits; `weir groups describe` shows its commit; a
// second run of the group reads exactly the rest.
func TestGroupKafkaPython(t *testing.T) {
	t.Parallel()
	needPython(t, "kafka")
	s := startGroupServer(t)
	const topic, group = "vitals", "py-readers"
	s.createTopic(t, topic, 3, nil)
	want := produceRound(t, s, topic, 3, 1, 10)
	var first, second pyGroupRun
	runPython(t, "kafka_python_group.py", &first, s.addr, topic, group, "12")
	checkCommittedDescribed(t, s, group, first.Committed, 10)
	runPython(t, "kafka_python_group.py", &second, s.addr, topic, group, "18")
	checkCommittedDescribed(t, s, group, second.Committed, 10)
	checkSplitReads(t, want, first.Consumed, second.Consumed)
}

// checkSplitReads: two runs of a group read every record once between
// them.
func checkSplitReads(t *testing.T, want map[position]string, runs ...[][2]int64) {
	t.Helper()
	seen := map[position]int{}
	for i, run := range runs {
		for _, c := range run {
			pos := position{int32(c[0]), c[1]}
			if _, ok := want[pos]; !ok {
				t.Errorf("run %d read %v, which was not written", i+1, pos)
			}
			if prev, dup := seen[pos]; dup {
				t.Errorf("record %v read by run %d and run %d", pos, prev, i+1)
			}
			seen[pos] = i + 1
		}
	}
	for pos := range want {
		if _, ok := seen[pos]; !ok {
			t.Errorf("record %v was never read", pos)
		}
	}
}

// TestGroupConfluentKafka: two confluent-kafka (librdkafka) consumers of
// one group split the partitions, read each record once, commit; describe
// shows the commits; a later run reads only what came after.
func TestGroupConfluentKafka(t *testing.T) {
	t.Parallel()
	needPython(t, "confluent_kafka")
	s := startGroupServer(t)
	const topic, group = "payments", "ck-readers"
	s.createTopic(t, topic, 4, nil)
	round1 := produceRound(t, s, topic, 4, 1, 5)
	var out pyGroupRun
	runPython(t, "confluent_group.py", &out, s.addr, topic, group, "20", "2")
	parts := map[int]string{}
	for name, ps := range out.Members {
		for _, p := range ps {
			if other, dup := parts[p]; dup {
				t.Errorf("partition %d assigned to %s and %s", p, other, name)
			}
			parts[p] = name
		}
	}
	if len(parts) != 4 || len(out.Members) != 2 {
		t.Errorf("assignment %v: want 4 partitions over 2 members", out.Members)
	}
	checkCommittedDescribed(t, s, group, out.Committed, 5)
	round2 := produceRound(t, s, topic, 4, 2, 3)
	var again pyGroupRun
	runPython(t, "confluent_group.py", &again, s.addr, topic, group, "12", "1")
	checkSplitReads(t, round1, out.Consumed)
	checkSplitReads(t, round2, again.Consumed)
	checkCommittedDescribed(t, s, group, again.Committed, 8)
}

// TestGroupFranzGoSurvivesBrokerKill: a franz-go group consumer's commits
// survive kill -9 of the broker, and the group resumes from them.
func TestGroupFranzGoSurvivesBrokerKill(t *testing.T) {
	t.Parallel()
	s := startGroupServer(t)
	const topic, group = "ledger", "franz-readers"
	s.createTopic(t, topic, 2, nil)
	first := produceRound(t, s, topic, 2, 1, 10)
	consume := func(n int) map[position]string {
		cl := s.client(t, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.SessionTimeout(6*time.Second))
		got := map[position]string{}
		ctx, cancel := context.WithTimeout(context.Background(), groupWait)
		defer cancel()
		for len(got) < n {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %d of %d records", len(got), n)
			}
			fs.EachRecord(func(r *kgo.Record) { got[position{r.Partition, r.Offset}] = string(r.Value) })
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
		cl.Close()
		return got
	}
	got := consume(20)
	for pos, v := range first {
		if got[pos] != v {
			t.Errorf("record %v: read %q, want %q", pos, got[pos], v)
		}
	}
	s.kill()
	s.start()
	offsets, err := s.admin(t).FetchOffsets(testCtx(t), group)
	if err != nil {
		t.Fatal(err)
	}
	offsets.Each(func(o kadm.OffsetResponse) {
		if o.At != 10 {
			t.Errorf("after kill -9: committed %s/%d=%d, want 10", o.Topic, o.Partition, o.At)
		}
	})
	second := produceRound(t, s, topic, 2, 2, 3)
	if got := consume(6); len(got) != 6 || len(readByMap(second, got)) != 6 {
		t.Errorf("after restart the group read %v, want exactly %v", got, second)
	}
}

func readByMap(want, got map[position]string) map[position]string {
	out := map[position]string{}
	for pos, v := range got {
		if want[pos] == v {
			out[pos] = v
		}
	}
	return out
}

// TestSecondBrokerOnDataDir: a second broker on a data dir in use refuses
// to start, with one line saying why (issue 10).
func TestSecondBrokerOnDataDir(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := weir(t, "", "serve", "--listen", freePort(t), "--data-dir", s.dataDir)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "in use by another broker") {
		t.Fatalf("second broker: %s", r)
	}
	if !s.running() {
		t.Fatal("the first broker stopped")
	}
	// Once it stops, the data dir is free again.
	if code := s.stop(); code != 0 {
		t.Fatalf("first broker exited %d", code)
	}
	s.start()
	if _, err := s.admin(t).ListTopics(testCtx(t)); err != nil {
		t.Fatalf("restarted broker: %v", err)
	}
}
