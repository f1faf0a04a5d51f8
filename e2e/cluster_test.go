package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A cluster of real `weir serve` processes: three brokers, each a voter of
// the metadata quorum (combined mode), partitions spread over all three.

// clusterProps shortens the broker session so that a killed broker's
// partitions go offline within seconds instead of Kafka's 9, and the
// consumer-protocol member session to the simulator's 6s, so that a
// processing member that `weir workload run` crashes holds its partitions
// for seconds, not Kafka's 45.
const clusterProps = "broker.session.timeout.ms=2000\nbroker.heartbeat.interval.ms=300\ngroup.consumer.session.timeout.ms=6000\n"

// startCluster starts n brokers as separate processes with one quorum.
func startCluster(t *testing.T, n int) []*server {
	t.Helper()
	props := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(props, []byte(clusterProps), 0o644); err != nil {
		t.Fatal(err)
	}
	var voters []string
	ctl := make([]string, n)
	for i := range n {
		ctl[i] = freePort(t)
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, ctl[i]))
	}
	servers := make([]*server, n)
	for i := range n {
		s := newServer(t, t.TempDir(), "--config", props, "--node-id", strconv.Itoa(i+1),
			"--controller-listen", ctl[i], "--controller-quorum", strings.Join(voters, ","))
		s.addr = freePort(t)
		servers[i] = s
	}
	for _, s := range servers {
		s.start()
	}
	waitBrokers(t, servers[0].addr, n)
	return servers
}

// waitBrokers waits until `weir cluster describe` lists want active brokers.
func waitBrokers(t *testing.T, bootstrap string, want int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := weir(t, "", "cluster", "describe", "--bootstrap-server", bootstrap)
		if r.code == 0 && strings.Count(r.stdout, " active ") == want {
			return r.stdout
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not show %d active brokers within 30s: %s", want, r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// leaders returns each partition's leader as the cluster reports it. A
// broker other than the one that created the topic may not have applied
// it yet: it is asked again until the topic shows, for a few seconds.
func leaders(t *testing.T, adm *kadm.Client, topic string) map[int32]int32 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tds, err := adm.ListTopics(testCtx(t), topic)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int32]int32{}
		for _, p := range tds[topic].Partitions {
			out[p.Partition] = p.Leader
		}
		if len(out) > 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// produceTo sends one record to each listed partition and returns what was
// acknowledged, by value.
func produceTo(t *testing.T, cl *kgo.Client, topic, prefix string, parts []int32) map[string]*kgo.Record {
	t.Helper()
	var rs []*kgo.Record
	for i, p := range parts {
		rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(fmt.Sprintf("%s-%d", prefix, i))})
	}
	out := map[string]*kgo.Record{}
	for _, r := range cl.ProduceSync(testCtx(t), rs...) {
		if r.Err != nil {
			t.Fatalf("produce to %s/%d: %v", topic, r.Record.Partition, r.Err)
		}
		out[string(r.Record.Value)] = r.Record
	}
	return out
}

// checkAllPresent reads the topic with kcat from every partition and fails
// unless every acknowledged record is at its offset.
func checkAllPresent(t *testing.T, kcat, bootstrap, topic string, acked map[string]*kgo.Record) {
	t.Helper()
	r := run(t, "", nil, kcat, "-b", bootstrap, "-C", "-t", topic, "-e", "-q", "-f", "%p %o %s\n")
	if r.code != 0 {
		t.Fatalf("kcat: %s", r)
	}
	at := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 {
			at[f[2]] = f[0] + "@" + f[1]
		}
	}
	for v, rec := range acked {
		want := fmt.Sprintf("%d@%d", rec.Partition, rec.Offset)
		if at[v] != want {
			t.Errorf("acknowledged %s at %s; kcat read it at %q", v, want, at[v])
		}
	}
}

// TestClusterOfThreeProcesses: three `weir serve` processes form one
// cluster; a topic's partitions are led by all three; clients bootstrap
// from any broker; kill -9 of one broker takes only its partitions
// offline; it comes back, registers again and serves its partitions with
// every acknowledged record.
func TestClusterOfThreeProcesses(t *testing.T) {
	t.Parallel()
	kcat := needKcat(t)
	servers := startCluster(t, 3)
	mustWeir(t, "", "topics", "create", "--bootstrap-server", servers[2].addr, "--topic", "orders", "--partitions", "6")
	cl := servers[1].client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordRetries(20))
	adm := kadm.NewClient(cl)
	lead := leaders(t, adm, "orders")
	var by [4][]int32 // partitions led by broker i
	for p, l := range lead {
		if l < 1 || l > 3 {
			t.Fatalf("partition %d has leader %d", p, l)
		}
		by[l] = append(by[l], p)
	}
	for b := 1; b <= 3; b++ {
		if len(by[b]) == 0 {
			t.Fatalf("broker %d leads no partition of 6: %v", b, lead)
		}
		slices.Sort(by[b])
	}
	all := []int32{0, 1, 2, 3, 4, 5}
	acked := produceTo(t, cl, "orders", "before", all)
	checkAllPresent(t, kcat, servers[0].addr, "orders", acked)

	// kill -9 broker 2: its partitions go offline, the others keep serving.
	servers[1].kill()
	deadline := time.Now().Add(20 * time.Second)
	for {
		l := leaders(t, kadm.NewClient(servers[0].client(t)), "orders")
		offline := 0
		for _, p := range by[2] {
			if l[p] == -1 {
				offline++
			}
		}
		if offline == len(by[2]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker 2's partitions %v still led after its kill -9: %v", by[2], l)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The controller fenced it, and `weir cluster describe` says so.
	if r := weir(t, "", "cluster", "describe", "--bootstrap-server", servers[0].addr); r.code != 0 ||
		!regexp.MustCompile(`(?m)^2\s+\S+\s+\S+\s+fenced\b`).MatchString(r.stdout) || strings.Count(r.stdout, " active ") != 2 {
		t.Fatalf("cluster describe after broker 2's kill -9: want it fenced and two active: %s", r)
	}
	cl0 := servers[0].client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for v, r := range produceTo(t, cl0, "orders", "during", append(slices.Clone(by[1]), by[3]...)) {
		acked[v] = r
	}

	// Broker 2 comes back: it registers, is unfenced, leads its partitions
	// again and has every record it acknowledged.
	servers[1].start()
	waitBrokers(t, servers[2].addr, 3)
	deadline = time.Now().Add(20 * time.Second)
	for {
		l := leaders(t, kadm.NewClient(servers[2].client(t)), "orders")
		back := 0
		for _, p := range by[2] {
			if l[p] == 2 {
				back++
			}
		}
		if back == len(by[2]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker 2 does not lead %v again after its restart: %v", by[2], l)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cl2 := servers[2].client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for v, r := range produceTo(t, cl2, "orders", "after", all) {
		acked[v] = r
	}
	checkAllPresent(t, kcat, servers[2].addr, "orders", acked)

	// kcat produces to every partition too, bootstrapping from broker 1
	// (it finds each partition's leader), and franz-go reads it all back
	// from the partitions of all three brokers.
	for _, p := range all {
		r := run(t, fmt.Sprintf("kcat-%d\n", p), nil, kcat, "-P", "-b", servers[0].addr, "-t", "orders", "-p", strconv.Itoa(int(p)), "-X", "acks=all")
		if r.code != 0 {
			t.Fatalf("kcat produce to partition %d: %s", p, r)
		}
	}
	read := consumeAll(t, servers[0].client(t, kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())), len(acked)+len(all))
	for v, rec := range acked {
		if got, ok := read[v]; !ok || got != rec.Partition {
			t.Errorf("franz-go read %s in partition %d (read: %v), acknowledged in %d", v, got, ok, rec.Partition)
		}
	}
	for _, p := range all {
		if got, ok := read[fmt.Sprintf("kcat-%d", p)]; !ok || got != p {
			t.Errorf("franz-go read kcat's record for partition %d in partition %d (read: %v)", p, got, ok)
		}
	}
}

// consumeAll polls cl until it read want records or 30 seconds passed,
// and returns the partition each value was read from.
func consumeAll(t *testing.T, cl *kgo.Client, want int) map[string]int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	read := map[string]int32{}
	for len(read) < want && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { read[string(r.Value)] = r.Partition })
	}
	return read
}

// TestServeCluster3: `weir serve --cluster 3` runs the same cluster in one
// process; partitions spread over the three brokers, clients bootstrap
// from any of them, and a SIGTERM and restart keep every record.
func TestServeCluster3(t *testing.T) {
	t.Parallel()
	kcat := needKcat(t)
	s := newServer(t, t.TempDir(), "--cluster", "3")
	// --cluster takes ports base..base+2 and base+100..base+102.
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		s.addr = freePort(t)
		if err = s.tryStart(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("weir serve --cluster 3: %v\n%s", err, s.stderr.String())
	}
	host, port := splitAddr(t, s.addr)
	addrs := []string{s.addr, fmt.Sprintf("%s:%d", host, port+1), fmt.Sprintf("%s:%d", host, port+2)}
	describe := waitBrokers(t, addrs[1], 3)
	if !strings.Contains(describe, "voter") && !strings.Contains(describe, "leader") {
		t.Fatalf("cluster describe shows no quorum:\n%s", describe)
	}
	mustWeir(t, "", "topics", "create", "--bootstrap-server", addrs[2], "--topic", "spread", "--partitions", "6")
	// Created through broker 3, described through broker 2: broker 2
	// answers from its image, which applies the new topic a moment later
	// (as a Kafka broker's metadata cache does).
	var r result
	waitUntil(t, "broker 2 describing the new topic", 30*time.Second, func() bool {
		r = weir(t, "", "topics", "describe", "--bootstrap-server", addrs[1], "--topic", "spread")
		return r.code == 0
	})
	for b := 1; b <= 3; b++ {
		if !strings.Contains(r.stdout, fmt.Sprintf("Leader: %d\t", b)) {
			t.Errorf("no partition led by broker %d:\n%s", b, r.stdout)
		}
	}
	cl := s.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	acked := produceTo(t, cl, "spread", "v", []int32{0, 1, 2, 3, 4, 5})
	checkAllPresent(t, kcat, addrs[2], "spread", acked)
	if code := s.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, s.stderr.String())
	}
	s.start()
	waitBrokers(t, addrs[0], 3)
	deadline := time.Now().Add(20 * time.Second)
	for {
		l := leaders(t, kadm.NewClient(s.client(t)), "spread")
		ok := len(l) == 6
		for _, leader := range l {
			ok = ok && leader > 0
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("partitions not all led after the restart: %v", l)
		}
		time.Sleep(200 * time.Millisecond)
	}
	checkAllPresent(t, kcat, addrs[1], "spread", acked)
}

func splitAddr(t *testing.T, addr string) (string, int) {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	port, err := strconv.Atoi(addr[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	return addr[:i], port
}
