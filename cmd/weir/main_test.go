package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestMain lets a test re-execute this binary as the weir command, to check
// what only a real process has: signals and exit codes.
func TestMain(m *testing.M) {
	if os.Getenv("WEIR_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func runWeir(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestDispatch(t *testing.T) {
	code, out, errs := runWeir(t, "")
	if code != 2 || out != "" || !strings.HasPrefix(errs, "usage: weir <command>") {
		t.Fatalf("no args: exit %d stdout %q stderr %q", code, out, errs)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, out, errs = runWeir(t, "", args...)
		if code != 0 || errs != "" || !strings.HasPrefix(out, "usage: weir <command>") {
			t.Fatalf("%v: exit %d stdout %q stderr %q", args, code, out, errs)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "\n  "+c.name+" ") {
				t.Fatalf("help does not list %s:\n%s", c.name, out)
			}
		}
	}
	code, out, errs = runWeir(t, "", "frob", "--x")
	if code != 2 || out != "" || errs != "weir: unknown command \"frob\" (run \"weir help\" for the list)\n" {
		t.Fatalf("unknown: exit %d stdout %q stderr %q", code, out, errs)
	}
	for _, name := range []string{"topics", "produce", "consume", "groups", "version", "workload", "check"} {
		for _, args := range [][]string{{"help", name}, {name, "--help"}, {name, "-h"}} {
			code, out, errs = runWeir(t, "", args...)
			if code != 0 || errs != "" || !strings.HasPrefix(out, "usage: weir "+name) {
				t.Fatalf("%v: exit %d stdout %q stderr %q", args, code, out, errs)
			}
		}
	}
	code, out, errs = runWeir(t, "", "version")
	if code != 0 || errs != "" || !strings.HasPrefix(out, "weir ") || !strings.Contains(out, "franz-go/v") || strings.Count(out, "\n") != 1 {
		t.Fatalf("version: exit %d stdout %q stderr %q", code, out, errs)
	}
}

func TestEndToEnd(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bs := c.ListenAddrs()[0]
	steps := []struct {
		stdin string
		args  []string
		out   string
	}{
		{"", []string{"topics", "create", "--bootstrap-server", bs, "--topic", "orders", "--partitions", "1"}, "Created topic orders.\n"},
		{"o1:new\no2:paid\n", []string{"produce", "--bootstrap-server", bs, "--topic", "orders", "--property", "parse.key=true", "--property", "key.separator=:"}, ""},
		{"", []string{"consume", "--bootstrap-server", bs, "--topic", "orders", "--from-beginning", "--max-messages", "2", "--property", "print.key=true", "--property", "print.offset=true"},
			"Offset:0\to1\tnew\nOffset:1\to2\tpaid\n"},
	}
	for _, s := range steps {
		if code, out, errs := runWeir(t, s.stdin, s.args...); code != 0 || out != s.out {
			t.Fatalf("weir %v: exit %d\nstdout %q, want %q\nstderr %s", s.args, code, out, s.out, errs)
		}
	}
}

// TestSIGINTStopsConsume runs weir consume as a process, waits for its
// output, sends SIGINT and expects exit 0 with Kafka's closing count.
func TestSIGINTStopsConsume(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bs := c.ListenAddrs()[0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(bs))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(t.Context(), &kgo.Record{Topic: "t", Value: []byte("hello")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "consume", "--bootstrap-server", bs, "--topic", "t", "--from-beginning")
	cmd.Env = append(os.Environ(), "WEIR_TEST_MAIN=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Fatalf("first line %q, %v (stderr %s)", line, err, errb.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if err != nil || errb.String() != "Processed a total of 1 messages\n" {
		t.Fatalf("after SIGINT: %v, stderr %q", err, errb.String())
	}
}
