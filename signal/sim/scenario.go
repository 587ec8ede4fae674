// Package sim plays version-signalling scenarios: a TOML file declares the
// versions, the producers and the mode, then steps of blocks, maintenances,
// proposals and expectations, run against package signal's controller on an
// in-memory store (`forkgate signal simulate`). It is tool code: it keeps the
// TOML reader out of the consensus package. docs/signal.md documents the
// format.
package sim

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/forkgate/forkgate/schedule"
	"github.com/forkgate/forkgate/signal"
)

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

// Bounds on times, so no sum of a time and block intervals overflows int64
// however many blocks a file lists.
const (
	maxTime          = 1 << 53
	maxBlockInterval = 1 << 32
)

// Scenario is a parsed, checked scenario file.
type Scenario struct {
	File          string
	Name          string
	Config        signal.Config
	Producers     []string
	BlockInterval int64
	StartTime     int64
	producersLine int
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

// Error is an unusable scenario: file:line:column and what to do. A key that
// is missing from the file has no line; its message names the key to add.
type Error struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Parse reads and checks a scenario; every error is an *Error.
func Parse(file string, data []byte) (*Scenario, error) {
	bad := func(line int, format string, args ...any) error {
		return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var f scenarioFile
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, tomlError(file, err)
	}
	loc := locate(data)
	mode, err := signal.ParseMode(f.Mode)
	if err != nil {
		return nil, bad(loc.top["mode"], "mode: %v", err)
	}
	s := &Scenario{File: file, Name: f.Name, StartTime: f.StartTime, BlockInterval: 3, Producers: f.Producers, producersLine: loc.top["producers"]}
	if f.StartTime < 0 || f.StartTime > maxTime {
		return nil, bad(loc.top["start_time"], "start_time %d is out of range: give unix seconds from 0 to %d", f.StartTime, int64(maxTime))
	}
	if f.BlockInterval != nil {
		if *f.BlockInterval < 0 || *f.BlockInterval > maxBlockInterval {
			return nil, bad(loc.top["block_interval"], "block_interval %d is out of range: give the seconds between blocks, from 0 to %d (default 3)", *f.BlockInterval, int64(maxBlockInterval))
		}
		s.BlockInterval = *f.BlockInterval
	}
	cfg := signal.Config{Mode: mode, Implemented: f.Implemented, MaintenanceInterval: f.MaintenanceInterval}
	if f.Approval != "" {
		num, den, ok := parseFraction(f.Approval)
		if !ok {
			return nil, bad(loc.top["approval"], "approval %q is not a fraction: write it as \"2/3\"", f.Approval)
		}
		cfg.ApprovalNum, cfg.ApprovalDen = num, den
	}
	numbers := map[uint32]bool{}
	for _, v := range f.Versions {
		cfg.Versions = append(cfg.Versions, schedule.VersionParams{Number: v.Number, Time: v.Time, Rate: v.Rate, Grace: v.Grace,
			Timeout: v.Timeout, MinHeight: v.MinHeight, Release: v.Release, Note: v.Note})
		numbers[v.Number] = true
	}
	params := map[string]bool{}
	for _, p := range f.Params {
		cfg.Params = append(cfg.Params, signal.ParamDecl{Name: p.Name, Version: p.Version, Default: p.Default})
		params[p.Name] = true
	}
	if err := cfg.Validate(); err != nil {
		return nil, configError(file, loc, err)
	}
	s.Config = cfg
	if f.Producers == nil {
		return nil, bad(0, "no producers: add producers = [\"SR1\", \"SR2\", ...] (the genesis set, in slot order) before the first table")
	}
	if err := signal.ValidateSet(f.Producers); err != nil {
		return nil, bad(loc.top["producers"], "producers: %v", err)
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
	// prev is the time of the last input, next the time of the next block:
	// they follow from the file alone, so a step that sends time back is
	// refused here, with its line, rather than by the controller mid-run.
	prev, next := f.StartTime, f.StartTime
	for i, sp := range f.Steps {
		st := step{line: loc.line("step", i), stepSpec: sp}
		at := func(key, format string, args ...any) error {
			return bad(loc.line("step", i, key), "step %d: %s", i+1, fmt.Sprintf(format, args...))
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
			if err := signal.ValidateSet(sp.Maintenance); err != nil {
				return nil, at("maintenance", "maintenance: %v", err)
			}
		}
		if p := sp.Propose; p != nil {
			actions++
			if !known[p.Producer] {
				return nil, at("propose", "propose: unknown producer %q: declare it in producers or a maintenance step", p.Producer)
			}
			if !params[p.Param] {
				return nil, at("propose", "propose: parameter %q is not declared: add a [[param]] table for it", p.Param)
			}
		}
		if sp.Approve != nil {
			actions++
			if len(sp.Approve.Producers) == 0 || sp.Approve.Proposal == 0 {
				return nil, at("approve", "approve needs producers = [...] and proposal = <id, from 1>")
			}
			for _, p := range sp.Approve.Producers {
				if !known[p] {
					return nil, at("approve", "approve: unknown producer %q: declare it in producers or a maintenance step", p)
				}
			}
		}
		switch {
		case actions > 1:
			return nil, at("", "a step does one thing: block(s), maintenance, propose or approve; split it into several [[step]] tables")
		case actions == 0 && len(sp.Expect) == 0:
			return nil, at("", "empty step: give block, blocks, maintenance, propose, approve or expect")
		case actions == 0 && sp.ExpectError != "":
			return nil, at("expect_error", "expect_error needs an action in the same step")
		case sp.Time != nil && len(raw) == 0 && sp.Maintenance == nil:
			return nil, at("time", "time only applies to block(s) and maintenance steps: move it to one")
		}
		if sp.Time != nil {
			switch t := *sp.Time; {
			case t < 0 || t > maxTime:
				return nil, at("time", "time %d is out of range: give unix seconds from 0 to %d", t, int64(maxTime))
			case t < prev:
				return nil, at("time", "time %d is before %d, the time of the previous block or maintenance: block times must not decrease; give a time of at least %d", t, prev, prev)
			}
			next = *sp.Time
		}
		for _, r := range raw {
			b, err := parseBlock(r)
			if err != nil {
				return nil, at(blockKey(sp), "%v", err)
			}
			if !known[b.producer] {
				return nil, at(blockKey(sp), "block %q: unknown producer %q: declare it in producers or a maintenance step", r, b.producer)
			}
			st.blocks = append(st.blocks, b)
			prev, next = next, next+s.BlockInterval
		}
		if sp.Maintenance != nil {
			prev = next
		}
		for _, e := range sp.Expect {
			if err := checkExpect(e, numbers, params); err != nil {
				return nil, at("expect", "expect: %v", err)
			}
		}
		s.steps = append(s.steps, st)
	}
	return s, nil
}

func blockKey(sp stepSpec) string {
	if sp.Block != "" {
		return "block"
	}
	return "blocks"
}

// configError places a signal.ConfigError on the line it is about.
func configError(file string, loc locator, err error) error {
	e := &Error{File: file, Msg: err.Error()}
	var ce *signal.ConfigError
	if !errors.As(err, &ce) {
		return e
	}
	switch ce.Field {
	case "version":
		key := ""
		var ve *schedule.VersionError
		if errors.As(ce.Err, &ve) {
			key = ve.Field
		}
		e.Line = loc.line("version", ce.Index, key)
	case "param":
		e.Line = loc.line("param", ce.Index)
	case "maintenance_interval":
		// A tron file without the key: point at the mode that needs it.
		e.Line = loc.top["maintenance_interval"]
		if e.Line == 0 {
			e.Line = loc.top["mode"]
		}
	default:
		e.Line = loc.top[ce.Field]
	}
	return e
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
		return fmt.Errorf("version %d is not declared: add a [[version]] table or check another version", *e.Version)
	case (e.Param == nil) != (e.Value == nil):
		return fmt.Errorf("param and value go together")
	case e.Param != nil && !params[*e.Param]:
		return fmt.Errorf("param %q is not declared: add a [[param]] table or check another param", *e.Param)
	case (e.Producer == nil) != (e.LastVersion == nil):
		return fmt.Errorf("producer and last_version go together")
	case e.Version == nil && e.Param == nil && e.Producer == nil && e.Halted == nil &&
		e.LatestVersion == nil && e.Newer == nil && e.NewerCount == nil:
		return fmt.Errorf("nothing to check: give version, param, producer, halted, latest_version, newer or newer_count")
	}
	if e.State != nil {
		if _, err := signal.ParseState(*e.State); err != nil {
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
		return &Error{File: file, Line: row, Column: col,
			Msg: fmt.Sprintf("unknown key %q: check its spelling against docs/signal.md", strings.Join(e.Key(), "."))}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return &Error{File: file, Line: row, Column: col, Msg: strings.TrimPrefix(de.Error(), "toml: ")}
	}
	return &Error{File: file, Msg: err.Error()}
}
