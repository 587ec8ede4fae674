package signal

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/forkgate/forkgate/schedule"
	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// A scenario is a TOML file: versions, producers and a mode, then steps.
// docs/signal.md documents the format; this file only reads and checks it.

type scenarioFile struct {
	Name                string        `toml:"name"`
	Mode                string        `toml:"mode"`
	Implemented         uint32        `toml:"implemented"`
	MaintenanceInterval int64         `toml:"maintenance_interval"`
	BlockInterval       *int64        `toml:"block_interval"`
	StartTime           int64         `toml:"start_time"`
	Approval            string        `toml:"approval"`
	Producers           []string      `toml:"producers"`
	Versions            []versionSpec `toml:"version"`
	Params              []paramSpec   `toml:"param"`
	Steps               []stepSpec    `toml:"step"`
}

type versionSpec struct {
	Number    uint32 `toml:"number"`
	Time      int64  `toml:"time"`
	Rate      uint32 `toml:"rate"`
	Grace     uint32 `toml:"grace"`
	Timeout   int64  `toml:"timeout"`
	MinHeight int64  `toml:"min_height"`
	Release   string `toml:"release"`
	Note      string `toml:"note"`
}

type paramSpec struct {
	Name    string `toml:"name"`
	Version uint32 `toml:"version"`
	Default int64  `toml:"default"`
}

type stepSpec struct {
	Note        string       `toml:"note"`
	Block       string       `toml:"block"`
	Blocks      []string     `toml:"blocks"`
	Time        *int64       `toml:"time"`
	Maintenance []string     `toml:"maintenance"`
	Propose     *proposeSpec `toml:"propose"`
	Approve     *approveSpec `toml:"approve"`
	Expect      []expectSpec `toml:"expect"`
	ExpectError string       `toml:"expect_error"`
}

type proposeSpec struct {
	Producer string `toml:"producer"`
	Param    string `toml:"param"`
	Value    int64  `toml:"value"`
}

type approveSpec struct {
	Producers []string `toml:"producers"`
	Proposal  uint64   `toml:"proposal"`
}

type expectSpec struct {
	Version       *uint32 `toml:"version"`
	State         *string `toml:"state"`
	Since         *int64  `toml:"since"`
	Count         *int    `toml:"count"`
	Denominator   *int    `toml:"denominator"`
	Threshold     *int    `toml:"threshold"`
	Slots         *string `toml:"slots"`
	CarriedBy     *uint32 `toml:"carried_by"`
	Param         *string `toml:"param"`
	Value         *int64  `toml:"value"`
	Producer      *string `toml:"producer"`
	LastVersion   *uint32 `toml:"last_version"`
	Halted        *bool   `toml:"halted"`
	LatestVersion *uint32 `toml:"latest_version"`
	Newer         *uint32 `toml:"newer"`
	NewerCount    *int    `toml:"newer_count"`
}

// Scenario is a parsed, checked scenario file.
type Scenario struct {
	File          string
	Name          string
	Config        Config
	Producers     []string
	BlockInterval int64
	StartTime     int64
	steps         []step
}

type blockInput struct {
	producer string
	version  uint32
}

type step struct {
	line int
	stepSpec
	blocks []blockInput
}

// ScenarioError is a malformed scenario: file:line:column and what to do.
type ScenarioError struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *ScenarioError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ParseScenario reads a scenario; every error is a *ScenarioError.
func ParseScenario(file string, data []byte) (*Scenario, error) {
	bad := func(line int, format string, args ...any) error {
		return &ScenarioError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var f scenarioFile
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, tomlError(file, err)
	}
	lines := tableLines(data)
	lineOf := func(table string, i int) int {
		if ls := lines[table]; i < len(ls) {
			return ls[i]
		}
		return 0
	}
	mode, err := ParseMode(f.Mode)
	if err != nil {
		return nil, bad(keyLine(data, "mode"), "%v", err)
	}
	s := &Scenario{File: file, Name: f.Name, StartTime: f.StartTime, BlockInterval: 3, Producers: f.Producers}
	if f.BlockInterval != nil {
		if *f.BlockInterval < 0 {
			return nil, bad(keyLine(data, "block_interval"), "block_interval %d is negative", *f.BlockInterval)
		}
		s.BlockInterval = *f.BlockInterval
	}
	cfg := Config{Mode: mode, Implemented: f.Implemented, MaintenanceInterval: f.MaintenanceInterval}
	if f.Approval != "" {
		num, den, ok := parseFraction(f.Approval)
		if !ok {
			return nil, bad(keyLine(data, "approval"), "approval %q is not a fraction such as \"2/3\"", f.Approval)
		}
		cfg.ApprovalNum, cfg.ApprovalDen = num, den
	}
	if mode == ModeTron && f.MaintenanceInterval <= 0 {
		return nil, bad(0, "tron mode needs maintenance_interval (seconds, > 0; mainnet uses 21600)")
	}
	numbers := map[uint32]bool{}
	for i, v := range f.Versions {
		p := schedule.VersionParams{Number: v.Number, Time: v.Time, Rate: v.Rate, Grace: v.Grace,
			Timeout: v.Timeout, MinHeight: v.MinHeight, Release: v.Release, Note: v.Note}
		if err := ValidateVersion(mode, f.MaintenanceInterval, p); err != nil {
			return nil, bad(lineOf("version", i), "%v", err)
		}
		if numbers[v.Number] {
			return nil, bad(lineOf("version", i), "version %d is declared twice: keep one [[version]] table", v.Number)
		}
		numbers[v.Number] = true
		cfg.Versions = append(cfg.Versions, p)
	}
	params := map[string]bool{}
	for i, p := range f.Params {
		if p.Version != 0 && !numbers[p.Version] {
			return nil, bad(lineOf("param", i), "parameter %q belongs to version %d, which no [[version]] declares", p.Name, p.Version)
		}
		params[p.Name] = true
		cfg.Params = append(cfg.Params, ParamDecl{Name: p.Name, Version: p.Version, Default: p.Default})
	}
	if _, err := cfg.normalized(); err != nil {
		return nil, bad(0, "%v", err)
	}
	s.Config = cfg
	if err := checkSet(f.Producers); err != nil {
		return nil, bad(keyLine(data, "producers"), "producers: %v", errors.Unwrap(err))
	}
	known := map[string]bool{}
	for _, p := range f.Producers {
		known[p] = true
	}
	for _, st := range f.Steps {
		for _, p := range st.Maintenance {
			known[p] = true
		}
	}
	for i, sp := range f.Steps {
		st := step{line: lineOf("step", i), stepSpec: sp}
		at := func(format string, args ...any) error {
			if st.line == 0 {
				return bad(0, "step %d: %s", i+1, fmt.Sprintf(format, args...))
			}
			return bad(st.line, format, args...)
		}
		actions := 0
		var raw []string
		if sp.Block != "" {
			raw = append(raw, sp.Block)
		}
		raw = append(raw, sp.Blocks...)
		if len(raw) > 0 {
			actions++
		}
		if sp.Maintenance != nil {
			actions++
			if err := checkSet(sp.Maintenance); err != nil {
				return nil, at("maintenance: %v", errors.Unwrap(err))
			}
		}
		if sp.Propose != nil {
			actions++
			if !known[sp.Propose.Producer] || !params[sp.Propose.Param] {
				return nil, at("propose needs a known producer and a declared param (got producer %q, param %q)", sp.Propose.Producer, sp.Propose.Param)
			}
		}
		if sp.Approve != nil {
			actions++
			if len(sp.Approve.Producers) == 0 || sp.Approve.Proposal == 0 {
				return nil, at("approve needs producers = [...] and proposal = <id, from 1>")
			}
			for _, p := range sp.Approve.Producers {
				if !known[p] {
					return nil, at("approve: unknown producer %q (declare it in producers or a maintenance step)", p)
				}
			}
		}
		switch {
		case actions > 1:
			return nil, at("a step does one thing: block(s), maintenance, propose or approve; split it into several [[step]] tables")
		case actions == 0 && len(sp.Expect) == 0:
			return nil, at("empty step: give block, blocks, maintenance, propose, approve or expect")
		case actions == 0 && sp.ExpectError != "":
			return nil, at("expect_error needs an action in the same step")
		case sp.Time != nil && len(raw) == 0 && sp.Maintenance == nil:
			return nil, at("time only applies to block(s) and maintenance steps")
		}
		for _, r := range raw {
			b, err := parseBlock(r)
			if err != nil {
				return nil, at("%v", err)
			}
			if !known[b.producer] {
				return nil, at("block %q: unknown producer %q (declare it in producers or a maintenance step)", r, b.producer)
			}
			st.blocks = append(st.blocks, b)
		}
		for _, e := range sp.Expect {
			if err := checkExpect(e, numbers, params); err != nil {
				return nil, at("expect: %v", err)
			}
		}
		s.steps = append(s.steps, st)
	}
	return s, nil
}

func parseFraction(s string) (uint32, uint32, bool) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, 0, false
	}
	n, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 32)
	d, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 32)
	return uint32(n), uint32(d), err1 == nil && err2 == nil
}

// parseBlock reads "producer:version".
func parseBlock(s string) (blockInput, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return blockInput{}, fmt.Errorf("block %q: write \"producer:version\", e.g. \"SR1:24\"", s)
	}
	v, err := strconv.ParseUint(s[i+1:], 10, 32)
	if err != nil {
		return blockInput{}, fmt.Errorf("block %q: version %q is not a number in 0..4294967295", s, s[i+1:])
	}
	return blockInput{producer: s[:i], version: uint32(v)}, nil
}

func checkExpect(e expectSpec, versions map[uint32]bool, params map[string]bool) error {
	versionFields := e.State != nil || e.Since != nil || e.Count != nil || e.Denominator != nil ||
		e.Threshold != nil || e.Slots != nil || e.CarriedBy != nil
	switch {
	case versionFields && e.Version == nil:
		return fmt.Errorf("state, since, count, denominator, threshold, slots and carried_by need version = N")
	case e.Version != nil && !versionFields:
		return fmt.Errorf("version %d: say what to check (state, since, count, ...)", *e.Version)
	case e.Version != nil && !versions[*e.Version]:
		return fmt.Errorf("version %d is not declared", *e.Version)
	case (e.Param == nil) != (e.Value == nil):
		return fmt.Errorf("param and value go together")
	case e.Param != nil && !params[*e.Param]:
		return fmt.Errorf("param %q is not declared", *e.Param)
	case (e.Producer == nil) != (e.LastVersion == nil):
		return fmt.Errorf("producer and last_version go together")
	case e.Version == nil && e.Param == nil && e.Producer == nil && e.Halted == nil &&
		e.LatestVersion == nil && e.Newer == nil && e.NewerCount == nil:
		return fmt.Errorf("nothing to check")
	}
	if e.State != nil {
		if _, err := ParseState(*e.State); err != nil {
			return err
		}
	}
	if e.Slots != nil && strings.Trim(*e.Slots, "01") != "" {
		return fmt.Errorf("slots %q: use one 0 or 1 per slot", *e.Slots)
	}
	return nil
}

// tomlError turns go-toml's errors into file:line:column messages.
func tomlError(file string, err error) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) && len(sm.Errors) > 0 {
		e := sm.Errors[0]
		row, col := e.Position()
		return &ScenarioError{File: file, Line: row, Column: col,
			Msg: fmt.Sprintf("unknown key %q: check its spelling against docs/signal.md", strings.Join(e.Key(), "."))}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return &ScenarioError{File: file, Line: row, Column: col, Msg: strings.TrimPrefix(de.Error(), "toml: ")}
	}
	return &ScenarioError{File: file, Msg: err.Error()}
}

// tableLines maps "step", "version" and "param" to the line of each of
// their [[...]] headers, in order, so later errors can name a line.
func tableLines(data []byte) map[string][]int {
	out := map[string][]int{}
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.ArrayTable {
			continue
		}
		it := e.Key()
		var parts []string
		line := 0
		for it.Next() {
			n := it.Node()
			if line == 0 {
				line = p.Shape(n.Raw).Start.Line
			}
			parts = append(parts, string(n.Data))
		}
		k := strings.Join(parts, ".")
		out[k] = append(out[k], line)
	}
	return out
}

// keyLine finds the line of a top-level "key =" for messages.
func keyLine(data []byte, key string) int {
	for i, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			return 0 // past the top-level keys
		}
		if rest, ok := strings.CutPrefix(t, key); ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
			return i + 1
		}
	}
	return 0
}
