// An evidence-bundle verifier built on Go's golang.org/x/mod/sumdb/note and tlog, the
// reference implementations of C2SP signed notes and of the transparency-log proofs: a
// verifier we did not write, for the cross-check in test/attacks/evidenceGoCrossCheck.test.ts.
// Only the bundle's own layout (files, the coverage line, proofs.json) is read by code of ours;
// signatures, the note format and every proof are Go's.
//
//	verifybundle DIR VKEY [ANCHOR_NOTE]   prints VALID, UNTRUSTED or INVALID and why; exit 0, 3, 1
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type leafProof struct {
	Seq       int64    `json:"seq"`
	Index     int64    `json:"index"`
	Inclusion []string `json:"inclusion"`
}

type otherProof struct {
	Seq       int64    `json:"seq"`
	Leaf      string   `json:"leaf"`
	Inclusion []string `json:"inclusion"`
}

type proofsFile struct {
	TreeSize int64        `json:"tree_size"`
	Leaves   []leafProof  `json:"leaves"`
	Others   []otherProof `json:"others"`
	Previous *struct {
		TreeSize    int64    `json:"tree_size"`
		Root        string   `json:"root"`
		Consistency []string `json:"consistency"`
	} `json:"previous"`
}

// hash decodes a canonical base64 SHA-256.
func hash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tlog.HashSize || base64.StdEncoding.EncodeToString(b) != s {
		return h, fmt.Errorf("not a canonical base64 SHA-256: %q", s)
	}
	copy(h[:], b)
	return h, nil
}

func hashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, 0, len(list))
	for _, s := range list {
		h, err := hash(s)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

type checkpoint struct {
	origin     string
	size       int64
	root       tlog.Hash
	extensions []string
}

// parseCheckpoint follows c2sp.org/tlog-checkpoint: origin, decimal size without leading zeros,
// base64 root, non-empty extension lines.
func parseCheckpoint(text string) (checkpoint, error) {
	var c checkpoint
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return c, errors.New("malformed checkpoint")
	}
	lines = lines[:len(lines)-1]
	if lines[0] == "" || !regexp.MustCompile(`^(0|[1-9][0-9]*)$`).MatchString(lines[1]) {
		return c, errors.New("malformed checkpoint origin or size")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return c, err
	}
	root, err := hash(lines[2])
	if err != nil {
		return c, err
	}
	for _, l := range lines[3:] {
		if l == "" {
			return c, errors.New("empty extension line")
		}
	}
	return checkpoint{lines[0], n, root, lines[3:]}, nil
}

var terminal = map[string]bool{"session_end": true, "session_timeout": true, "session_cancelled": true, "session_error": true, "replay_diverged": true}

func verify(dir, vkey, anchorFile string) (string, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return "", fmt.Errorf("vkey: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint.txt"))
	if err != nil {
		return "", err
	}
	status := "VALID"
	n, err := note.Open(msg, note.VerifierList(v))
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		// Signed by no key the auditor gave: does the key the bundle names check it?
		claimed, err2 := os.ReadFile(filepath.Join(dir, "vkey.txt"))
		if err2 != nil {
			return "", err2
		}
		cv, err2 := note.NewVerifier(strings.TrimSpace(string(claimed)))
		if err2 != nil {
			return "", fmt.Errorf("checkpoint: %v; vkey.txt: %v", err, err2)
		}
		if n, err = note.Open(msg, note.VerifierList(cv)); err != nil {
			return "", fmt.Errorf("checkpoint with vkey.txt: %v", err)
		}
		status = "UNTRUSTED"
	} else if err != nil {
		return "", fmt.Errorf("checkpoint: %v", err)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return "", err
	}
	var cov []string
	for _, l := range cp.extensions {
		if strings.HasPrefix(l, "agent-audit-bundle ") {
			cov = append(cov, l)
		}
	}
	if len(cov) != 1 {
		return "", errors.New("no coverage line")
	}
	f := strings.Split(cov[0], " ")
	seqRe := regexp.MustCompile(`^[1-9][0-9]*$`)
	var kind, session, digest string
	var from, to int64
	ended := false
	switch {
	case len(f) == 4 && f[1] == "range" && seqRe.MatchString(f[2]) && seqRe.MatchString(f[3]):
		kind = "range"
	case len(f) == 7 && f[1] == "session" && seqRe.MatchString(f[3]) && seqRe.MatchString(f[4]) && (f[5] == "ended" || f[5] == "running") && regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(f[6]):
		kind = "session"
		id, err := base64.RawURLEncoding.DecodeString(f[2])
		if err != nil {
			return "", err
		}
		session, ended, digest = string(id), f[5] == "ended", f[6]
	default:
		return "", errors.New("malformed coverage line")
	}
	if kind == "range" {
		from, _ = strconv.ParseInt(f[2], 10, 64)
		to, _ = strconv.ParseInt(f[3], 10, 64)
	} else {
		from, _ = strconv.ParseInt(f[3], 10, 64)
		to, _ = strconv.ParseInt(f[4], 10, 64)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "proofs.json"))
	if err != nil {
		return "", err
	}
	var p proofsFile
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", fmt.Errorf("proofs.json: %v", err)
	}
	if p.TreeSize != cp.size {
		return "", errors.New("proofs.json is for another tree")
	}
	events, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		return "", err
	}
	if len(events) == 0 || events[len(events)-1] != '\n' {
		return "", errors.New("events.jsonl does not end with a newline")
	}
	lines := bytes.Split(events[:len(events)-1], []byte("\n"))
	if len(lines) != len(p.Leaves) {
		return "", errors.New("events and proofs differ in number")
	}
	covered := map[int64]bool{}
	var disclosed []int64
	for i, line := range lines {
		lp := p.Leaves[i]
		if !utf8.Valid(line) {
			return "", fmt.Errorf("line %d is not UTF-8", i+1)
		}
		var e struct {
			Seq       *int64 `json:"seq"`
			SessionID string `json:"session_id"`
			EventType string `json:"event_type"`
		}
		if err := json.Unmarshal(line, &e); err != nil || e.Seq == nil {
			return "", fmt.Errorf("line %d is not an event", i+1)
		}
		if *e.Seq != lp.Seq || lp.Index != lp.Seq-1 || covered[lp.Seq] {
			return "", fmt.Errorf("line %d: seq %d out of place or twice", i+1, lp.Seq)
		}
		if kind == "session" && (e.SessionID != session || (ended && lp.Seq == to && !terminal[e.EventType]) || (!ended && terminal[e.EventType])) {
			return "", fmt.Errorf("line %d: not of the session, or not its end", i+1)
		}
		covered[lp.Seq] = true
		disclosed = append(disclosed, lp.Seq)
		proof, err := hashes(lp.Inclusion)
		if err != nil {
			return "", err
		}
		if err := tlog.CheckRecord(proof, cp.size, cp.root, lp.Index, tlog.RecordHash(line)); err != nil {
			return "", fmt.Errorf("line %d: %v", i+1, err)
		}
	}
	for _, o := range p.Others {
		if kind == "range" || covered[o.Seq] {
			return "", fmt.Errorf("others: seq %d not allowed", o.Seq)
		}
		covered[o.Seq] = true
		leaf, err := hash(o.Leaf)
		if err != nil {
			return "", err
		}
		proof, err := hashes(o.Inclusion)
		if err != nil {
			return "", err
		}
		if err := tlog.CheckRecord(proof, cp.size, cp.root, o.Seq-1, leaf); err != nil {
			return "", fmt.Errorf("others seq %d: %v", o.Seq, err)
		}
	}
	if from > to || to > cp.size || (kind == "session" && !ended && to != cp.size) {
		return "", errors.New("coverage outside the tree")
	}
	for s := from; s <= to; s++ {
		if !covered[s] {
			return "", fmt.Errorf("seq %d missing", s)
		}
	}
	if int64(len(covered)) != to-from+1 {
		return "", errors.New("seqs outside the coverage")
	}
	if kind == "session" {
		sort.Slice(disclosed, func(i, j int) bool { return disclosed[i] < disclosed[j] })
		parts := make([]string, len(disclosed))
		for i, s := range disclosed {
			parts[i] = strconv.FormatInt(s, 10)
		}
		sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
		if hex.EncodeToString(sum[:]) != digest {
			return "", errors.New("the session's events are not the ones listed")
		}
	}
	if anchorFile != "" {
		msg, err := os.ReadFile(anchorFile)
		if err != nil {
			return "", err
		}
		an, err := note.Open(msg, note.VerifierList(v))
		if err != nil {
			return "", fmt.Errorf("anchor: %v", err)
		}
		head, err := parseCheckpoint(an.Text)
		if err != nil {
			return "", fmt.Errorf("anchor: %v", err)
		}
		if p.Previous == nil || head.origin != cp.origin || p.Previous.TreeSize != head.size {
			return "", errors.New("no consistency proof from the anchor")
		}
		if pr, err := hash(p.Previous.Root); err != nil || pr != head.root {
			return "", errors.New("the bundle's previous head is not the anchor")
		}
		proof, err := hashes(p.Previous.Consistency)
		if err != nil {
			return "", err
		}
		if err := tlog.CheckTree(proof, cp.size, cp.root, head.size, head.root); err != nil {
			return "", fmt.Errorf("consistency: %v", err)
		}
	}
	return status, nil
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: verifybundle DIR VKEY [ANCHOR_NOTE]")
		os.Exit(2)
	}
	anchor := ""
	if len(os.Args) > 3 {
		anchor = os.Args[3]
	}
	status, err := verify(os.Args[1], os.Args[2], anchor)
	if err != nil {
		fmt.Println("INVALID:", err)
		os.Exit(1)
	}
	fmt.Println(status)
	if status == "UNTRUSTED" {
		os.Exit(3)
	}
}
