package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestLineParser(t *testing.T) {
	hdr := func(kv ...string) []kgo.RecordHeader {
		var hs []kgo.RecordHeader
		for i := 0; i < len(kv); i += 2 {
			hs = append(hs, kgo.RecordHeader{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return hs
	}
	for _, tc := range []struct {
		name    string
		props   map[string]string
		line    string
		key     []byte // nil: null key
		value   []byte
		headers []kgo.RecordHeader
		err     string
	}{
		{name: "plain", line: "a\tb", value: []byte("a\tb")},
		{name: "empty line is an empty value", line: "", value: []byte{}},
		{name: "key", props: map[string]string{"parse.key": "true"}, line: "k\tv\tw", key: []byte("k"), value: []byte("v\tw")},
		{name: "empty key is not null", props: map[string]string{"parse.key": "TRUE"}, line: "\tv", key: []byte{}, value: []byte("v")},
		{name: "custom separator", props: map[string]string{"parse.key": "true", "key.separator": "::"}, line: "k::v", key: []byte("k"), value: []byte("v")},
		{name: "missing separator", props: map[string]string{"parse.key": "true"}, line: "kv", err: `line 7: no key separator "\t" in "kv"`},
		{name: "ignore.error", props: map[string]string{"parse.key": "true", "ignore.error": "true"}, line: "kv", value: []byte("kv")},
		{
			name:  "headers and key",
			props: map[string]string{"parse.key": "true", "parse.headers": "true"},
			line:  "h1:v1,h2:v2\tk\tv", key: []byte("k"), value: []byte("v"), headers: hdr("h1", "v1", "h2", "v2"),
		},
		{
			name:  "custom header separators",
			props: map[string]string{"parse.headers": "true", "headers.delimiter": "|", "headers.separator": ";", "headers.key.separator": "="},
			line:  "a=1;b=|v", value: []byte("v"), headers: hdr("a", "1", "b", ""),
		},
		{name: "no headers", props: map[string]string{"parse.headers": "true"}, line: "\tv", value: []byte("v")},
		{name: "bad header", props: map[string]string{"parse.headers": "true"}, line: "h\tv", err: `line 7: no header key separator ":" in header "h"`},
		{
			name:  "null marker",
			props: map[string]string{"parse.key": "true", "parse.headers": "true", "null.marker": "<null>"},
			line:  "h:<null>\t<null>\t<null>", headers: []kgo.RecordHeader{{Key: "h"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			props := produceDefaults()
			for k, v := range tc.props {
				props[k] = v
			}
			p, err := newLineParser(props)
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.parse(tc.line, 7)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (r.Key == nil) != (tc.key == nil) || string(r.Key) != string(tc.key) ||
				(r.Value == nil) != (tc.value == nil) || string(r.Value) != string(tc.value) ||
				!reflect.DeepEqual(r.Headers, tc.headers) {
				t.Fatalf("got key %q value %q headers %q, want %q %q %q", r.Key, r.Value, r.Headers, tc.key, tc.value, tc.headers)
			}
		})
	}
}

func TestProduceErrors(t *testing.T) {
	bs := cluster(t, 1, "t")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"missing topic", "", nil, ExitUsage, "weir produce: missing --topic"},
		{"bad acks", "", []string{"--topic", "t", "--acks", "2"}, ExitUsage, `weir produce: --acks "2": want all, -1, 1 or 0`},
		{"bad compression", "", []string{"--topic", "t", "--compression", "brotli"}, ExitUsage, `weir produce: --compression "brotli"`},
		{"short delivery timeout", "", []string{"--topic", "t", "--delivery-timeout-ms", "10"}, ExitUsage, "weir produce: --delivery-timeout-ms must be at least 1000"},
		{"stray argument", "", []string{"--topic", "t", "extra"}, ExitUsage, `weir produce: unexpected argument "extra"`},
		{
			"line without separator", "a\tb\nnokey\nc\td\n",
			[]string{"--topic", "t", "--property", "parse.key=true"}, ExitError,
			`weir produce: line 2: no key separator "\t" in "nokey" (the 1 records before it were written)`,
		},
		{"unknown topic", "x\n", []string{"--topic", "nope"}, ExitError, `weir produce: 1 of 1 records failed: topic "nope" does not exist`},
		{"unknown partition", "x\n", []string{"--topic", "t", "--partition", "5", "--delivery-timeout-ms", "2000"}, ExitError, "weir produce: 1 of 1 records failed:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, Produce, tc.stdin, append(tc.args, "--bootstrap-server", bs)...).wantErr(t, tc.code, tc.msg)
		})
	}
}

func TestProduceUnreachable(t *testing.T) {
	addr := deadAddr(t)
	run(t, Produce, "a\nb\n", "--bootstrap-server", addr, "--topic", "t", "--delivery-timeout-ms", "1000").
		wantErr(t, ExitError, "weir produce: 2 of 2 records failed: cannot reach bootstrap server "+addr)
}

func TestProduceIgnoresUnknownPropertyWithWarning(t *testing.T) {
	bs := cluster(t, 1, "t")
	r := run(t, Produce, "v\n", "--bootstrap-server", bs, "--topic", "t", "--property", "value.serializer=x")
	if r.code != ExitOK || !strings.Contains(r.stderr, `ignoring unsupported property "value.serializer"`) {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
}
