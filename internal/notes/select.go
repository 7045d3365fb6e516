package notes

import (
	"strings"

	"github.com/tidwall/gjson"
)

// SkipReason says why a note should be left alone, or "" when it should not: a status of
// entered-in-error or superseded, a docStatus of preliminary or entered-in-error (as Cumulus ETL
// skips them: a note entered in error is often one filed on the wrong patient, a superseded one
// has a replacement, and Oracle Health has no HTML for preliminary documents). A
// DiagnosticReport has no docStatus; its status preliminary counts as one.
func SkipReason(resourceType string, line []byte) string {
	status := gjson.GetBytes(line, "status").String()
	docStatus := gjson.GetBytes(line, "docStatus").String()
	switch {
	case status == "entered-in-error" || status == "superseded":
		return "status " + status
	case docStatus == "preliminary" || docStatus == "entered-in-error":
		return "docStatus " + docStatus
	case resourceType == DiagnosticReport && status == "preliminary":
		return "status preliminary"
	}
	return ""
}

// priority ranks an attachment's media type as Cumulus ETL does: text/plain first, then other
// text types (text/html), then application/xhtml+xml; anything else (PDF, images, RTF in
// application/rtf, application/xml) is no note text at all (0).
func priority(mediaType string) int {
	switch {
	case mediaType == "text/plain":
		return 3
	case strings.HasPrefix(mediaType, "text/"):
		return 2
	case mediaType == "application/xhtml+xml":
		return 1
	}
	return 0
}

// Best picks the attachment that holds the note's best text: the highest priority media type;
// among equals one that is inlined (has data), then the first. ok is false when no attachment
// has a text type.
func Best(atts []Attachment) (best Attachment, ok bool) {
	bestRank := 0
	for _, a := range atts {
		rank := priority(a.MediaType) * 2
		if a.HasData {
			rank++
		}
		if priority(a.MediaType) > 0 && rank > bestRank {
			best, bestRank, ok = a, rank, true
		}
	}
	return best, ok
}
