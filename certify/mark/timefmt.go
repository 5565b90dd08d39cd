package mark

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultTimeFormat is the pattern the Government CA's own signer shows, e.g.
// "05.03.2020 16:43:18 +07:00".
const DefaultTimeFormat = "dd.MM.yyyy HH:mm:ss ±hh:mm"

// FormatTime writes t as seen in zone (nil means Vietnam time) by pattern
// (empty means DefaultTimeFormat). The fields are dd, MM, yyyy, HH, mm, ss
// and ±hh:mm, the zone's offset with its sign; text in single quotes is
// copied as it is (” is one quote), and so is any other character that is
// not an ASCII letter. Any other letter is refused, so that a mistyped field
// ("yyy") is caught instead of printed. Seconds are cut, never rounded: the
// mark must not show a later second than the signature's.
func FormatTime(t time.Time, zone *time.Location, pattern string) (string, error) {
	if zone == nil {
		zone = vietnamTime()
	}
	if pattern == "" {
		pattern = DefaultTimeFormat
	}
	t = t.In(zone)
	// The fields, longest first so that "±hh:mm" wins over its "mm".
	tokens := [...]string{"±hh:mm", "yyyy", "dd", "MM", "HH", "mm", "ss"}
	var b strings.Builder
	two := func(n int) { b.WriteString(fmt.Sprintf("%02d", n)) }
	for p := pattern; p != ""; {
		if p[0] == '\'' {
			// A quoted literal; inside it and outside, '' is one quote.
			if strings.HasPrefix(p, "''") {
				b.WriteByte('\'')
				p = p[2:]
				continue
			}
			i := 1
			for ; ; i++ {
				if i >= len(p) {
					return "", fmt.Errorf("time format %q: a quote is not closed", pattern)
				}
				if p[i] != '\'' {
					b.WriteByte(p[i])
				} else if i+1 < len(p) && p[i+1] == '\'' {
					b.WriteByte('\'')
					i++
				} else {
					break
				}
			}
			p = p[i+1:]
			continue
		}
		tok := ""
		for _, k := range tokens {
			if strings.HasPrefix(p, k) {
				tok = k
				break
			}
		}
		switch tok {
		case "dd":
			two(t.Day())
		case "MM":
			two(int(t.Month()))
		case "yyyy":
			b.WriteString(fmt.Sprintf("%04d", t.Year()))
		case "HH":
			two(t.Hour())
		case "mm":
			two(t.Minute())
		case "ss":
			two(t.Second())
		case "±hh:mm":
			_, off := t.Zone()
			sign := byte('+')
			if off < 0 {
				sign, off = '-', -off
			}
			off /= 60 // whole minutes: no zone in use has seconds
			b.WriteByte(sign)
			two(off / 60)
			b.WriteByte(':')
			two(off % 60)
		default:
			if c := p[0]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				return "", fmt.Errorf("time format %q: %q at %d is not a field (use dd MM yyyy HH mm ss ±hh:mm, and quote other text)",
					pattern, c, len(pattern)-len(p))
			}
			_, size := utf8.DecodeRuneInString(p)
			b.WriteString(p[:size])
			p = p[size:]
			continue
		}
		p = p[len(tok):]
	}
	return b.String(), nil
}

// vietnamTime is Asia/Ho_Chi_Minh from the system's zone database, or the
// fixed +07:00 it has used since 1975 when the database is missing (a
// minimal container or a sandboxed service).
func vietnamTime() *time.Location {
	if z, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return z
	}
	return time.FixedZone("+07", 7*60*60)
}
