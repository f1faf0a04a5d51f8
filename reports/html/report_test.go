package html

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weir-dev/weir/reports/internal/synth"
)

// fixture writes a benchmark result and two simulation runs (one valid,
// one invalid) under a temporary folder and returns it.
func fixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if _, err := synth.Bench(filepath.Join(root, "bench-1")); err != nil {
		t.Fatal(err)
	}
	if err := synth.Sim(filepath.Join(root, "runs", "seed-3"), 3, false); err != nil {
		t.Fatal(err)
	}
	if err := synth.Sim(filepath.Join(root, "runs", "seed-42"), 42, true); err != nil {
		t.Fatal(err)
	}
	// A replay of seed 42 inside its folder: the same run, not another.
	if err := synth.Sim(filepath.Join(root, "runs", "seed-42", "replay"), 42, true); err != nil {
		t.Fatal(err)
	}
	// Not a run folder: a header alone.
	os.MkdirAll(filepath.Join(root, "runs", "half"), 0o755)
	os.WriteFile(filepath.Join(root, "runs", "half", "header.json"), []byte("{}"), 0o644)
	return root
}

func TestScan(t *testing.T) {
	root := fixture(t)
	out := filepath.Join(root, "report")
	// A report folder inside the scanned tree is skipped.
	if err := synth.Sim(filepath.Join(out, "copy"), 9, false); err != nil {
		t.Fatal(err)
	}
	in, err := Scan([]string{root, filepath.Join(root, "runs")}, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Bench) != 1 || !strings.HasSuffix(in.Bench[0], "bench-1/results.json") {
		t.Errorf("bench %v", in.Bench)
	}
	if len(in.Sims) != 2 || !strings.HasSuffix(in.Sims[0], "seed-3") || !strings.HasSuffix(in.Sims[1], "seed-42") {
		t.Errorf("sims %v", in.Sims)
	}
}

func TestReport(t *testing.T) {
	root := fixture(t)
	out := filepath.Join(root, "report")
	path, r, err := Write([]string{root}, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Errorf("errors: %v", r.Errors)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	count := func(s string) int { return strings.Count(page, s) }
	if n := count(`<tr class="target">`); n != 2 {
		t.Errorf("%d target rows, want 2", n)
	}
	if n := count(`<tr class="ratio">`); n != 2 {
		t.Errorf("%d ratio rows, want 2", n)
	}
	if n := count(`<tr class="sim">`); n != 2 {
		t.Errorf("%d sim rows, want 2", n)
	}
	for _, want := range []string{
		"<strong>embedded</strong>", "<strong>null</strong>", "embedded / null",
		// The ratios of medians: 610k / 890k records/s.
		"0.69×", "1.46×",
		"610,000", "the null sink does not serve Fetch",
		`href="../runs/seed-42/trace.log"`, `href="../runs/seed-42/history.jsonl"`, `href="../runs/seed-42/verdict.json"`,
		`href="../runs/seed-3/trace.log"`, `href="../runs/seed-42/linearizability-queue-0.html"`,
		`<span class="badge invalid">invalid</span>`, `<span class="badge valid">valid</span>`,
		"lost-write", "ops 12, 13", "crash n1", "partition [n1] [n2 n3]",
		"31s", "2.5s",
		`src="bench-1-synthetic-100b/throughput.svg"`, `src="sim-2-seed-42/sim-latency.svg"`,
		"Synthetic CPU &lt;b&gt;9000&lt;/b&gt;", "synthetic &lt;spec&gt; &amp; co", `&#34;description&#34;: &#34;synthetic &lt;spec&gt; &amp; co&#34;`,
		"INVALID: lost-write ×1 &lt;script&gt;alert(1)&lt;/script&gt;",
		// Recovery over both runs (the same trace): two failovers of 1.5 s.
		"Recovery after crashes", `<td>leader-failover</td><td class="num">2</td><td class="num">0</td><td class="num">1500.0 ms</td>`,
		`<td>unfenced-after-restart</td><td class="num">2</td><td class="num">0</td><td class="num">300.0 ms</td>`,
		`<td>isr-rejoin</td><td class="num">2</td><td class="num">0</td><td class="num">500.0 ms</td>`,
		`src="recovery/recovery-cdf.svg"`,
		`never read &lt;img src=x onerror=&#34;alert(1)&#34;&gt;`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>", "<img src=x", "<b>9000", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	// Every plot the page links exists.
	for _, dir := range []string{"bench-1-synthetic-100b", "sim-1-seed-3", "sim-2-seed-42"} {
		files, _ := filepath.Glob(filepath.Join(out, dir, "*.png"))
		if len(files) < 2 {
			t.Errorf("%s: %v", dir, files)
		}
	}
}

// TestNoRunPlots: the plots over all runs stay, each run's go.
func TestNoRunPlots(t *testing.T) {
	root := fixture(t)
	out := filepath.Join(root, "report")
	if _, _, err := Write([]string{root}, out, Options{NoRunPlots: true}); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(out, "recovery", "*.svg")); len(files) == 0 {
		t.Error("no recovery plot")
	}
	for _, dir := range []string{"sim-1-seed-3", "sim-2-seed-42"} {
		if files, _ := filepath.Glob(filepath.Join(out, dir, "*.svg")); len(files) != 0 {
			t.Errorf("%s: run plots %v", dir, files)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(out, "bench-1-synthetic-100b", "*.svg")); len(files) == 0 {
		t.Error("no benchmark plots")
	}
}

func TestWriteNothingFound(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Write([]string{dir}, filepath.Join(dir, "out"), Options{}); err == nil {
		t.Error("no error for a folder with no results")
	}
}

// TestBrowser renders the report in headless Chromium and checks that the
// screenshot is not blank. WEIR_E2E_REQUIRE=1 makes a missing Chromium a
// failure. WEIR_REPORT_SCREENSHOT keeps the screenshot at that path.
func TestBrowser(t *testing.T) {
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("WEIR_E2E_REQUIRE") == "1" {
			t.Fatalf("chromium required (WEIR_E2E_REQUIRE=1) but missing: %v", err)
		}
		t.Skip("no /usr/bin/chromium")
	}
	root := fixture(t)
	out := filepath.Join(root, "report")
	path, _, err := Write([]string{root}, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	shot := os.Getenv("WEIR_REPORT_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(root, "screenshot.png")
	}
	abs, _ := filepath.Abs(path)
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(root, "chromium-profile"), "--screenshot="+shot,
		"--window-size=1280,2000", "--hide-scrollbars", "file://"+abs)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("chromium did not finish within 15s: %s", stderr.String())
	}
	if err != nil {
		t.Fatalf("chromium: %v: %s", err, stderr.String())
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v: %s", err, stderr.String())
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 1280 || h != 2000 {
		t.Errorf("screenshot %dx%d", w, h)
	}
	colors := distinctColors(img)
	if colors < 50 {
		t.Errorf("screenshot has %d distinct colours: blank or unstyled", colors)
	}
	// The dark header band is drawn (the CSS applied).
	if r, g, b, _ := img.At(20, 20).RGBA(); r>>8 > 60 || g>>8 > 60 || b>>8 > 80 {
		t.Errorf("header pixel %v: CSS not applied?", img.At(20, 20))
	}
	t.Logf("screenshot %s: %d distinct colours", shot, colors)
}

func distinctColors(img image.Image) int {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), uint8(a >> 8)}] = true
		}
	}
	return len(seen)
}

func TestNaturalCompare(t *testing.T) {
	got := []string{"runs/seed-10", "runs/seed-2", "runs/seed-1", "runs/a", "runs/seed-02x"}
	slices.SortFunc(got, naturalCompare)
	want := []string{"runs/a", "runs/seed-1", "runs/seed-2", "runs/seed-02x", "runs/seed-10"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
