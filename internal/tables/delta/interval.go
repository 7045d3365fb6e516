package delta

import (
	"strconv"
	"strings"
	"time"
)

// parseInterval reads a Delta table property interval such as "interval 7 days".
func parseInterval(s string) (time.Duration, bool) {
	f := strings.Fields(strings.ToLower(s))
	if len(f) != 3 || f[0] != "interval" {
		return 0, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	unit := map[string]time.Duration{
		"second": time.Second, "seconds": time.Second, "minute": time.Minute, "minutes": time.Minute,
		"hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
		"week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
	}[f[2]]
	if unit == 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}
