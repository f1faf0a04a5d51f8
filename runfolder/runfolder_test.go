package runfolder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHeaderAndVerdictRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if err := WriteHeader(dir, Header{Seed: 42, Args: []string{"--seed", "42"}, ExitCode: ExitLiveness}); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(dir)
	if err != nil {
		t.Fatal(err)
	}
	if h.Seed != 42 || h.SchemaVersion != SchemaVersion || h.ExitCode != ExitLiveness {
		t.Errorf("header read back as %+v", h)
	}
	if err := WriteVerdict(dir, Verdict{Seed: 42, Code: ExitInvalid, Summary: "lost-write"}); err != nil {
		t.Fatal(err)
	}
	v, err := ReadVerdict(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v.Verdict != "invalid" || v.SchemaVersion != SchemaVersion {
		t.Errorf("verdict read back as %+v", v)
	}
	for _, f := range []string{HeaderFile, VerdictFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != FileMode&^umask() {
			t.Errorf("%s has mode %v, want %v", f, st.Mode().Perm(), os.FileMode(FileMode))
		}
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, VerdictFile), []byte(`{"schema_version": 99, "code": 0}`), FileMode); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadVerdict(dir); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("a verdict of schema 99 was read (err %v); a valid verdict must never be misread", err)
	}
}

func TestVerdictNames(t *testing.T) {
	for code, want := range map[int]string{ExitValid: "valid", ExitInvalid: "invalid", ExitLiveness: "liveness", ExitHarness: "harness-error", 7: "harness-error"} {
		if got := VerdictName(code); got != want {
			t.Errorf("VerdictName(%d) = %q, want %q", code, got, want)
		}
	}
}

// umask is the process's file-creation mask, read back from a new file.
func umask() os.FileMode {
	f, err := os.CreateTemp("", "umask")
	if err != nil {
		return 0
	}
	defer os.Remove(f.Name())
	f.Close()
	os.Chmod(f.Name(), 0o777)
	os.Remove(f.Name())
	g, _ := os.OpenFile(f.Name(), os.O_CREATE|os.O_WRONLY, 0o777)
	if g == nil {
		return 0
	}
	defer g.Close()
	st, _ := g.Stat()
	return 0o777 &^ st.Mode().Perm()
}
