// Package lang is the one message catalogue of what people at the station read: Vietnamese
// first, English available (station.language).
//
// The English text is the key. A caller prints through a Printer:
//
//	p := lang.Printer(lang.Vietnamese)
//	p.Sprintf("Logged in as %s", name) // "Đang đăng nhập: Lan"
//
// A key with no Vietnamese text prints in English; a test refuses such a key. Each part of the
// program keeps its messages in its own file here (console.go, record.go, ...), as a table of
// pairs listed in tables below; the Vietnamese uses the terms of Decree 30/2020 (văn thư, bản
// sao điện tử, chữ ký số, số và ký hiệu, trích yếu). Log keys and metric names are never
// translated: they are for machines.
package lang

import (
	"fmt"
	"strings"
	"sync"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// The languages the station speaks.
var (
	Vietnamese = language.Vietnamese
	English    = language.English
)

// Tags lists the languages, the default first.
var Tags = []language.Tag{Vietnamese, English}

// pair is one message: the English text (the key) and its Vietnamese.
type pair struct{ en, vi string }

// tables lists every file's messages. A new file of messages adds its table here.
func tables() [][]pair {
	return [][]pair{consoleMessages, recordMessages, pageMessages, stationMessages, scanMessages, cliMessages, adminMessages, deskMessages, reviewMessages}
}

// Parse reads a station.language value: vi or en (a region such as vi-VN is accepted).
func Parse(s string) (language.Tag, error) {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "-")
	switch base {
	case "vi":
		return Vietnamese, nil
	case "en":
		return English, nil
	}
	return language.Und, fmt.Errorf("%q is not a language of the station; use vi or en", s)
}

// Code is the short code of a station language, for <html lang> and the language setting.
func Code(tag language.Tag) string {
	if Match(tag) == English {
		return "en"
	}
	return "vi"
}

// Match returns the station language closest to tag; Vietnamese when none is close.
func Match(tag language.Tag) language.Tag {
	base, _ := tag.Base()
	if eb, _ := English.Base(); base == eb {
		return English
	}
	return Vietnamese
}

// Printer prints messages in tag's language (Vietnamese unless tag is English).
func Printer(tag language.Tag) *message.Printer {
	return message.NewPrinter(Match(tag), message.Catalog(build()))
}

// Keys returns every registered key, in the order of the tables.
func Keys() []string {
	var keys []string
	for _, t := range tables() {
		for _, p := range t {
			keys = append(keys, p.en)
		}
	}
	return keys
}

// Has reports whether key is a registered message.
func Has(key string) bool {
	for _, t := range tables() {
		for _, p := range t {
			if p.en == key {
				return true
			}
		}
	}
	return false
}

// build makes the catalogue once; it is read-only afterwards.
var build = sync.OnceValue(func() *catalog.Builder {
	b := catalog.NewBuilder(catalog.Fallback(English))
	for _, t := range tables() {
		for _, p := range t {
			// The tables are literals checked by the tests; an error here is a typo in them.
			if err := b.SetString(English, p.en, p.en); err != nil {
				panic(fmt.Sprintf("lang: message %q: %v", p.en, err))
			}
			if err := b.SetString(Vietnamese, p.en, p.vi); err != nil {
				panic(fmt.Sprintf("lang: message %q: %v", p.en, err))
			}
		}
	}
	return b
})

// Text is words kept as their format and arguments, so they can be printed in either language
// where they are read rather than where they are made. An argument that is itself a Text is
// printed in the same language. String gives the English, for logs and errors.
type Text struct {
	Format string
	Args   []any
}

// T keeps format and args as a Text.
func T(format string, args ...any) Text { return Text{Format: format, Args: args} }

func (t Text) String() string { return fmt.Sprintf(t.Format, english(t.Args)...) }

// In prints t through p: its format looked up as the key, its Text arguments likewise. A format
// that is not a key prints as it is, in English.
func (t Text) In(p *message.Printer) string {
	args := make([]any, len(t.Args))
	for i, a := range t.Args {
		if sub, ok := a.(Text); ok {
			a = sub.In(p)
		}
		args[i] = a
	}
	return p.Sprintf(t.Format, args...)
}

func english(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if sub, ok := a.(Text); ok {
			a = sub.String()
		}
		out[i] = a
	}
	return out
}
