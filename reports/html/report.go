// Package html renders one self-contained HTML report (`weir report`) of
// benchmark results (results.json) and simulation runs (folders with
// header.json and verdict.json): summary tables, ratios between targets,
// the plots of package reports/plot (as PNG/SVG files beside the report),
// the spec and the machine, and the simulation verdicts with links to each
// run's files and, for invalid runs, the anomaly witnesses.
//
// The page has no external assets: its CSS is inline and the plots are
// files in the output folder. Every string from the inputs is escaped by
// html/template.
package html

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weir-dev/weir/bench/results"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/reports/plot"
	"github.com/weir-dev/weir/reports/recovery"
	"github.com/weir-dev/weir/reports/redelivery"
	"github.com/weir-dev/weir/runfolder"
)

// FileName is the report's file in the output folder.
const FileName = "report.html"

// Inputs are what Scan found.
type Inputs struct {
	Bench []string // paths of results.json files
	Sims  []string // run folders
}

// Scan walks roots (folders or results.json files) for benchmark results
// and simulation run folders, skipping skip (the output folder) and its
// contents. The lists are sorted.
func Scan(roots []string, skip string) (Inputs, error) {
	var in Inputs
	skipAbs, _ := filepath.Abs(skip)
	seen := map[string]bool{}
	for _, root := range roots {
		st, err := os.Stat(root)
		if err != nil {
			return in, err
		}
		if !st.IsDir() {
			in.Bench = append(in.Bench, root)
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			abs, _ := filepath.Abs(path)
			if seen[abs] {
				return fs.SkipDir
			}
			if d.IsDir() {
				if skip != "" && abs == skipAbs {
					return fs.SkipDir
				}
				seen[abs] = true
				if isFile(filepath.Join(path, runfolder.HeaderFile)) && isFile(filepath.Join(path, runfolder.VerdictFile)) {
					in.Sims = append(in.Sims, path)
					// What lies below a run folder (a replay, a
					// determinism check) is the same run again,
					// not another one.
					return fs.SkipDir
				}
				return nil
			}
			if d.Name() == results.FileName {
				in.Bench = append(in.Bench, path)
			}
			return nil
		})
		if err != nil {
			return in, err
		}
	}
	slices.SortFunc(in.Bench, naturalCompare)
	in.Bench = slices.Compact(in.Bench)
	slices.SortFunc(in.Sims, naturalCompare)
	in.Sims = slices.Compact(in.Sims)
	return in, nil
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// Report is the page's data.
type Report struct {
	Title     string
	Generated time.Time
	Benches   []Bench
	Sims      []Sim
	// Recovery: how long the simulated clusters took to recover from
	// crashes, over every run (package recovery), with its plots.
	Recovery      []RecoveryRow
	RecoveryPlots []Plot
	// Redelivery: the records consumer groups read again after a member
	// failed, over every run (package redelivery); nil without one.
	Redelivery *RedeliveryRow
	Errors     []string // inputs that could not be read or drawn
}

// RecoveryRow is one recovery measure over the runs.
type RecoveryRow struct {
	Name, Samples, Unfinished, P50, P90, P99, Max string
}

// RedeliveryRow summarises, over the runs, the records a group read again
// per member failure: how many failures, and percentiles of the count.
type RedeliveryRow struct {
	Failures, Total, P50, P90, P99, Max string
	// Resumed: how many failures had their partitions read again, and the
	// time from the failure until the last of them was.
	Resumed, ResumeP50, ResumeP90, ResumeMax string
}

// Bench is one results.json.
type Bench struct {
	Path    string
	ID      string
	File    *results.File
	Targets []TargetRow
	Ratios  []RatioRow
	Plots   []Plot
	Spec    string // the spec as indented JSON
}

// TargetRow is a row of the summary table: medians over runs.
type TargetRow struct {
	Name, Runs, ProdRate, ProdMB, ConsRate string
	PubP50, PubP99, PubP999, PubMax        string
	E2EP50, E2EP99, E2EP999, E2EMax        string
	Note                                   string
}

// RatioRow is one pair of targets: numerator over denominator per metric.
type RatioRow struct {
	Numerator, Denominator string
	Prod, Cons, PubP99     string
	E2EP99                 string
}

// Plot is one plot in the page: links relative to the report.
type Plot struct {
	Title, PNG, SVG string
}

// Sim is one simulation run folder.
type Sim struct {
	Dir       string
	ID        string
	Header    runfolder.Header
	Seed      uint64
	Verdict   string
	Code      int
	Summary   string
	Virtual   string
	Wall      string
	Links     []Link
	Anomalies []Anomaly
	Plots     []Plot
	Faults    []plot.Fault
	// Pipelines: the stream workloads' latencies (pipeline.go).
	Pipelines []PipelineRow
}

// Link is a link to one of a run's files.
type Link struct{ Name, Href string }

// Anomaly is one anomaly kind of an invalid run with its witnesses.
type Anomaly struct {
	Name      string
	Count     int
	Witnesses []checker.Witness
}

// simVerdict is the part of verdict.json the report reads.
type simVerdict struct {
	Seed      uint64          `json:"seed"`
	Code      int             `json:"code"`
	Verdict   string          `json:"verdict"`
	Summary   string          `json:"summary"`
	VirtualNs int64           `json:"virtual_ns"`
	Details   json.RawMessage `json:"details"`
}

// Options tune Build.
type Options struct {
	Title string
	// NoPlots skips drawing (faster; the page has only tables).
	NoPlots bool
	// NoRunPlots skips each simulation run's own plots and keeps those of
	// all runs together (recovery): a sweep of hundreds of runs would
	// draw hundreds of plot sets.
	NoRunPlots bool
}

// Build reads the inputs, draws their plots into out and returns the
// report. An input that cannot be read is listed in Report.Errors, not
// fatal.
func Build(in Inputs, out string, opts Options) (*Report, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	r := &Report{Title: opts.Title, Generated: time.Now().UTC()}
	if r.Title == "" {
		r.Title = "Weir report"
	}
	for i, path := range in.Bench {
		f, err := results.Read(path)
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
			continue
		}
		b := Bench{Path: path, ID: fmt.Sprintf("bench-%d-%s", i+1, slug(f.Spec.Name)), File: f}
		b.Targets, b.Ratios = targetRows(f), ratioRows(f)
		var sb bytes.Buffer
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false) // the template escapes
		enc.SetIndent("", "  ")
		if enc.Encode(f.Spec) == nil {
			b.Spec = strings.TrimSpace(sb.String())
		}
		if !opts.NoPlots {
			files, err := plot.Bench(f, filepath.Join(out, b.ID))
			if err != nil {
				r.Errors = append(r.Errors, fmt.Sprintf("%s: plots: %v", path, err))
			}
			b.Plots = plotLinks(out, files)
		}
		r.Benches = append(r.Benches, b)
	}
	for i, dir := range in.Sims {
		s, err := readSim(dir, out)
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
			continue
		}
		s.ID = fmt.Sprintf("sim-%d-seed-%d", i+1, s.Seed)
		if d, err := plot.ReadSim(dir); err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", dir, err))
		} else {
			s.Faults, s.Pipelines = d.Faults, pipelineRows(d.Pipelines)
			if !opts.NoPlots && !opts.NoRunPlots {
				files, err := d.Plot(filepath.Join(out, s.ID))
				if err != nil {
					r.Errors = append(r.Errors, fmt.Sprintf("%s: plots: %v", dir, err))
				}
				s.Plots = plotLinks(out, files)
			}
		}
		r.Sims = append(r.Sims, s)
	}
	if len(in.Sims) > 0 {
		r.addRecovery(in.Sims, out, opts)
		r.addRedelivery(in.Sims)
	}
	return r, nil
}

// addRecovery measures every run's recoveries and merges them into the
// report's table and CDF plot.
func (r *Report) addRecovery(dirs []string, out string, opts Options) {
	all := recovery.New()
	for _, dir := range dirs {
		m, err := recovery.Read(dir)
		if err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("%s: recovery: %v", dir, err))
			continue
		}
		all.Merge(m)
	}
	for _, name := range recovery.Names() {
		s := all.Samples[name]
		if len(s) == 0 && all.Unfinished[name] == 0 {
			continue
		}
		ms := func(p float64) string { return fmtMillis(recovery.Percentile(s, p)) }
		r.Recovery = append(r.Recovery, RecoveryRow{
			Name: name, Samples: strconv.Itoa(len(s)), Unfinished: strconv.Itoa(all.Unfinished[name]),
			P50: ms(50), P90: ms(90), P99: ms(99), Max: ms(100),
		})
	}
	if opts.NoPlots || len(r.Recovery) == 0 {
		return
	}
	files, err := plot.Recovery(all.Samples, recovery.Names(), filepath.Join(out, "recovery"))
	if err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("recovery plots: %v", err))
	}
	r.RecoveryPlots = plotLinks(out, files)
}

// addRedelivery counts, over every run, the records consumer groups read
// again after each member failure.
func (r *Report) addRedelivery(dirs []string) {
	var all []redelivery.Failure
	for _, dir := range dirs {
		fs, err := redelivery.Read(dir)
		if err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("%s: redelivery: %v", dir, err))
			continue
		}
		all = append(all, fs...)
	}
	if len(all) == 0 {
		return
	}
	counts := redelivery.Counts(all)
	total := 0
	for _, c := range counts {
		total += c
	}
	p := func(q float64) string { return strconv.Itoa(redelivery.Percentile(counts, q)) }
	r.Redelivery = &RedeliveryRow{Failures: strconv.Itoa(len(counts)), Total: strconv.Itoa(total), P50: p(50), P90: p(90), P99: p(99), Max: p(100)}
	if resumes := redelivery.Resumes(all); len(resumes) > 0 {
		q := func(p float64) string { return fmtMillis(recovery.Percentile(resumes, p)) }
		r.Redelivery.Resumed, r.Redelivery.ResumeP50, r.Redelivery.ResumeP90, r.Redelivery.ResumeMax = strconv.Itoa(len(resumes)), q(50), q(90), q(100)
	}
}

// fmtMillis shows a duration in milliseconds.
func fmtMillis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms"
}

func readSim(dir, out string) (Sim, error) {
	s := Sim{Dir: dir}
	h, err := runfolder.ReadHeader(dir)
	if err != nil {
		return s, err
	}
	s.Header, s.Seed, s.Code, s.Verdict, s.Summary = h, h.Seed, h.ExitCode, h.Verdict, h.Message
	s.Virtual, s.Wall = fmtDuration(h.VirtualNs), fmtDuration(h.WallNs)
	b, err := os.ReadFile(filepath.Join(dir, "verdict.json"))
	if err != nil {
		return s, err
	}
	var v simVerdict
	if err := json.Unmarshal(b, &v); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(dir, "verdict.json"), err)
	}
	if v.Verdict != "" {
		s.Verdict, s.Code = v.Verdict, v.Code
	}
	if v.Summary != "" {
		s.Summary = strings.TrimSpace(v.Summary)
	}
	if s.Verdict == "" {
		s.Verdict = runfolder.VerdictName(s.Code)
	}
	if len(v.Details) > 0 {
		var cv checker.Verdict
		if json.Unmarshal(v.Details, &cv) == nil {
			names := slices.Sorted(func(yield func(string) bool) {
				for k := range cv.Anomalies {
					if !yield(k) {
						return
					}
				}
			})
			for _, name := range names {
				a := Anomaly{Name: name, Count: cv.Counts[name], Witnesses: cv.Anomalies[name]}
				a.Count = max(a.Count, len(a.Witnesses))
				s.Anomalies = append(s.Anomalies, a)
			}
		}
	}
	for _, name := range []string{"summary.txt", "trace.log", "history.jsonl", "faults.jsonl", "verdict.json", "header.json", "stdout.log", "stderr.log"} {
		if isFile(filepath.Join(dir, name)) {
			s.Links = append(s.Links, Link{Name: name, Href: href(out, filepath.Join(dir, name))})
		}
	}
	// porcupine's visualisations of the partitions that were not
	// linearizable (or ran out of their budget), as the guest wrote them.
	vis, _ := filepath.Glob(filepath.Join(dir, "linearizability-*.html"))
	slices.Sort(vis)
	for _, path := range vis {
		s.Links = append(s.Links, Link{Name: filepath.Base(path), Href: href(out, path)})
	}
	return s, nil
}

// href is a link from the report in out to path: relative when possible,
// else a file: URL.
func href(out, path string) string {
	outAbs, err1 := filepath.Abs(out)
	abs, err2 := filepath.Abs(path)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(outAbs, abs); err == nil {
			return (&url.URL{Path: filepath.ToSlash(rel)}).String()
		}
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

func plotLinks(out string, files []plot.File) []Plot {
	var ps []Plot
	for _, f := range files {
		ps = append(ps, Plot{Title: f.Title, PNG: href(out, f.Paths["png"]), SVG: href(out, f.Paths["svg"])})
	}
	return ps
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "unnamed"
	}
	return b.String()
}

func targetRows(f *results.File) []TargetRow {
	var rows []TargetRow
	for _, t := range f.Targets {
		m := t.Median
		get := func(name string, format func(float64) string) string {
			v, ok := m[name]
			if !ok {
				return "–"
			}
			return format(v)
		}
		rows = append(rows, TargetRow{
			Name: t.Name, Runs: strconv.Itoa(len(t.Runs)),
			ProdRate: get("produced_records_per_sec", fmtRate), ProdMB: get("produced_mb_per_sec", fmtFloat),
			ConsRate: get("consumed_records_per_sec", fmtRate),
			PubP50:   get("publish_p50_ms", fmtFloat), PubP99: get("publish_p99_ms", fmtFloat),
			PubP999: get("publish_p999_ms", fmtFloat), PubMax: get("publish_max_ms", fmtFloat),
			E2EP50: get("e2e_p50_ms", fmtFloat), E2EP99: get("e2e_p99_ms", fmtFloat),
			E2EP999: get("e2e_p999_ms", fmtFloat), E2EMax: get("e2e_max_ms", fmtFloat),
			Note: t.ConsumersSkipped,
		})
	}
	return rows
}

func ratioRows(f *results.File) []RatioRow {
	type pair struct{ a, b string }
	byPair := map[pair]map[string]float64{}
	var order []pair
	for _, r := range f.Ratios {
		p := pair{r.Numerator, r.Denominator}
		if byPair[p] == nil {
			byPair[p] = map[string]float64{}
			order = append(order, p)
		}
		byPair[p][r.Metric] = r.Ratio
	}
	var rows []RatioRow
	for _, p := range order {
		m := byPair[p]
		get := func(name string) string {
			v, ok := m[name]
			if !ok {
				return "–"
			}
			return fmt.Sprintf("%.2f×", v)
		}
		rows = append(rows, RatioRow{Numerator: p.a, Denominator: p.b,
			Prod: get("produced_records_per_sec"), Cons: get("consumed_records_per_sec"),
			PubP99: get("publish_p99_ms"), E2EP99: get("e2e_p99_ms")})
	}
	return rows
}

// fmtRate formats records/s with thousands separators.
func fmtRate(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func fmtFloat(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func fmtDuration(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

//go:embed report.html.tmpl
var pageText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"bytes": func(n int64) string {
		if n <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	},
	"secs": func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s" },
	"join": strings.Join,
	"rfc":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ints": func(v []int64) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.FormatInt(x, 10)
		}
		return strings.Join(s, ", ")
	},
	"valid": func(s Sim) bool { return s.Code == 0 },
	"status": func(code int) string {
		return [...]string{"valid", "invalid", "liveness", "error"}[min(max(code, 0), 3)]
	},
}).Parse(pageText))

// Render writes the report's HTML.
func (r *Report) Render() ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Write scans roots, builds the report into out and writes out/report.html;
// it returns the report's path and the report.
func Write(roots []string, out string, opts Options) (string, *Report, error) {
	in, err := Scan(roots, out)
	if err != nil {
		return "", nil, err
	}
	if len(in.Bench) == 0 && len(in.Sims) == 0 {
		return "", nil, errors.New("no results.json and no simulation run folder (header.json + verdict.json) found")
	}
	r, err := Build(in, out, opts)
	if err != nil {
		return "", nil, err
	}
	b, err := r.Render()
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(out, FileName)
	return path, r, os.WriteFile(path, b, 0o644)
}

// naturalCompare orders paths with numbers in them by value, so seed-2
// comes before seed-10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := leadingDigits(a), leadingDigits(b)
		if da != "" && db != "" {
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
