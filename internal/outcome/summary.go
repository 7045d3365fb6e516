package outcome

import (
	"fmt"
	"slices"
	"strings"
)

// Summary tallies the issues of an export's error files by severity, code and file, keeping the
// first place each group was seen. It keeps no free text: an issue's diagnostics and details can
// quote patient data, and what is printed goes to terminals, logs and cron mail. Its size is
// bounded by the number of files, whatever the number of issues.
type Summary struct {
	groups map[groupKey]*Group
}

type groupKey struct{ severity, code, file string }

// Group is the issues of one severity and code in one file.
type Group struct {
	Severity string // one of fatal, error, warning, information; "unknown" for anything else
	Code     string // an IssueType code; "non-standard" for anything that is not one
	File     string // the error file
	Line     int    // where the first of them is (a line, or for a stream a resource number)
	Count    int
}

// severities are the IssueSeverity codes; issueTypes the IssueType codes (FHIR R4). A value the
// server sent outside them is never printed, since it could be any text.
var (
	severities = []string{"fatal", "error", "warning", "information"}
	issueTypes = []string{"invalid", "structure", "required", "value", "invariant", "security", "login",
		"unknown", "expired", "forbidden", "suppressed", "processing", "not-supported", "duplicate",
		"multiple-matches", "not-found", "deleted", "too-long", "code-invalid", "extension", "too-costly",
		"business-rule", "conflict", "transient", "lock-error", "no-store", "exception", "timeout",
		"incomplete", "throttled", "informational"}
)

// Add counts one issue found in file at line.
func (s *Summary) Add(file string, line int, is Issue) {
	k := groupKey{coded(is.Severity, severities, "unknown"), coded(is.Code, issueTypes, "non-standard"), file}
	if s.groups == nil {
		s.groups = map[groupKey]*Group{}
	}
	g := s.groups[k]
	if g == nil {
		g = &Group{Severity: k.severity, Code: k.code, File: file, Line: line}
		s.groups[k] = g
	}
	g.Count++
}

// coded returns v when it is one of codes, else instead.
func coded(v string, codes []string, instead string) string {
	if slices.Contains(codes, v) {
		return v
	}
	return instead
}

// Groups returns the groups in file and line order (then severity, worst first, and code),
// fatal ones (see Group.Fatal) and the others apart.
func (s *Summary) Groups() (fatal, other []Group) {
	if s == nil {
		return nil, nil
	}
	for _, g := range s.groups {
		if g.Fatal() {
			fatal = append(fatal, *g)
		} else {
			other = append(other, *g)
		}
	}
	order := func(a, b Group) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if c := slices.Index(severities, a.Severity) - slices.Index(severities, b.Severity); c != 0 {
			return c
		}
		return strings.Compare(a.Code, b.Code)
	}
	slices.SortFunc(fatal, order)
	slices.SortFunc(other, order)
	return fatal, other
}

// Fatal reports whether the group's issues mean the export failed: severity fatal or error, the
// rule of Issue.Fatal and of Cumulus ETL.
func (g Group) Fatal() bool { return Issue{Severity: g.Severity}.Fatal() }

// String describes the group without any of the issues' text, such as
// `2 error "processing" issues (first at error/OperationOutcome.000.ndjson:3)`.
func (g Group) String() string {
	noun := "issue"
	if g.Count != 1 {
		noun = "issues"
	}
	return fmt.Sprintf("%d %s %q %s (first at %s:%d)", g.Count, g.Severity, g.Code, noun, g.File, g.Line)
}

// TextWithheld is what to print after a list of groups: where the full messages are, and why
// they are not printed.
func TextWithheld(where string) string {
	return "The messages' text is not printed (it can hold patient data); read it in " + where + "."
}
