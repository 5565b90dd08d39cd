package ocr

import (
	"bytes"
	"image"
	"math"
	"testing"

	"scanstation/internal/samplescan"
)

// TestOrientationConfidence reads pages with real Tesseract: full pages in
// every orientation must be decided rightly and confidently; pages with too
// little text to tell must fall below ReviewOrientationBelow.
func TestOrientationConfidence(t *testing.T) {
	e := newEngine(t, Options{})
	upright, _ := page(t, samplescan.Options{})
	_, upsideDown := page(t, samplescan.Options{UpsideDown: true})
	for _, tt := range []struct {
		name string
		data []byte
		want int
	}{
		{"upright", encodeJPEG(t, upright), 0},
		{"upside down", upsideDown, 180},
		{"turned 90° counter-clockwise", encodeJPEG(t, turn90(upright, false)), 90},
	} {
		res, err := e.Recognize(tt.data)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		t.Logf("%s: orientation %d, confidence %.3f", tt.name, res.Orientation, res.OrientationConfidence)
		if res.Orientation != tt.want {
			t.Errorf("%s: Orientation %d, want %d", tt.name, res.Orientation, tt.want)
		}
		if res.OrientationConfidence < ReviewOrientationBelow || res.OrientationConfidence > 1 {
			t.Errorf("%s: OrientationConfidence %.3f, want %.2f..1 on a clean full page",
				tt.name, res.OrientationConfidence, ReviewOrientationBelow)
		}
	}

	for _, tt := range []struct {
		name string
		opt  samplescan.Options
	}{
		{"one line", samplescan.Options{Lines: []string{"Độc lập - Tự do - Hạnh phúc"}}},
		{"one line upside down", samplescan.Options{Lines: []string{"Độc lập - Tự do - Hạnh phúc"}, UpsideDown: true}},
		{"a page number", samplescan.Options{Lines: []string{"Trang 2"}}},
		{"blank", samplescan.Options{Lines: []string{}}},
	} {
		_, data := page(t, tt.opt)
		res, err := e.Recognize(data)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		t.Logf("%s: %d words, orientation %d, confidence %.3f", tt.name, len(res.Words), res.Orientation, res.OrientationConfidence)
		if res.OrientationConfidence >= ReviewOrientationBelow || res.OrientationConfidence < 0 {
			t.Errorf("%s: OrientationConfidence %.3f, want 0..%.2f: too little text to tell",
				tt.name, res.OrientationConfidence, ReviewOrientationBelow)
		}
		if len(res.Words) == 0 && res.OrientationConfidence != 0 {
			t.Errorf("%s: no words, OrientationConfidence %.3f, want 0", tt.name, res.OrientationConfidence)
		}
	}
}

// TestOrientationConfidenceWhenWrong: pages whose orientation Tesseract
// decides wrongly (measured: a line turned 90° counter-clockwise read as
// 270; three lines upside down at 60 dpi, JPEG quality 10, read as upright)
// must not pass unseen.
func TestOrientationConfidenceWhenWrong(t *testing.T) {
	e := newEngine(t, Options{})
	line, _ := page(t, samplescan.Options{Lines: []string{"Độc lập - Tự do - Hạnh phúc"}})
	poor, _ := page(t, samplescan.Options{DPI: 60, UpsideDown: true, Lines: []string{
		"Kính gửi: Văn phòng Ủy ban nhân dân tỉnh.", "Danh mục hồ sơ đề nghị số hóa",
		"1. Sổ đăng ký văn bản đi, văn bản đến."}})
	var poorData bytes.Buffer
	if err := samplescan.WriteJPEG(&poorData, poor, 60, 10); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		data []byte
		want int
	}{
		{"one line turned 90° counter-clockwise", encodeJPEG(t, turn90(line, false)), 90},
		{"three lines upside down, 60 dpi, quality 10", poorData.Bytes(), 180},
	} {
		res, err := e.Recognize(tt.data)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		t.Logf("%s: orientation %d (right: %d), confidence %.3f", tt.name, res.Orientation, tt.want, res.OrientationConfidence)
		if res.Orientation != tt.want && res.OrientationConfidence >= ReviewOrientationBelow {
			t.Errorf("%s: Orientation %d is wrong, yet OrientationConfidence %.3f is not below %.2f",
				tt.name, res.Orientation, res.OrientationConfidence, ReviewOrientationBelow)
		}
	}
}

// TestOrientationConfidenceParts checks the arithmetic on made-up words.
func TestOrientationConfidenceParts(t *testing.T) {
	// row makes a line of n words of confidence conf, running right (dx 1)
	// or down (dx 0) from y.
	row := func(line, n int, across bool, conf float64) []Word {
		var out []Word
		for i := range n {
			r := image.Rect(100, 100+line*60+i*60, 140, 130+line*60+i*60)
			if across {
				r = image.Rect(100+i*60, 100+line*40, 140+i*60, 130+line*40)
			}
			out = append(out, Word{Text: "chữ", Box: r, Confidence: conf, Line: line})
		}
		return out
	}
	page := func(lines ...[]Word) []Word {
		var out []Word
		for _, l := range lines {
			out = append(out, l...)
		}
		return out
	}
	for _, tt := range []struct {
		name         string
		words        []Word
		o            int
		readBothWays bool
		other        float64
		want         float64
	}{
		{"no words", nil, 0, false, 0, 0},
		{"one-word lines only", page(row(0, 1, true, 95), row(1, 1, true, 95)), 0, false, 0, 0},
		{"three clear lines", page(row(0, 10, true, 95), row(1, 10, true, 95), row(2, 10, true, 95)), 0, false, 0, 1},
		{"one line of 8", row(0, 8, true, 95), 0, false, 0, 0.4},
		{"a quarter of the words run down", page(row(0, 10, true, 95), row(1, 10, true, 95), row(2, 10, true, 95), row(3, 10, false, 95)), 0, false, 0, 0.75},
		{"a poor reading, not retried", page(row(0, 10, true, 65), row(1, 10, true, 65)), 0, false, 0, 0.5},
		{"read both ways, won by 10", page(row(0, 10, true, 70), row(1, 10, true, 70)), 0, true, 60, 0.5},
		{"read both ways, lost", page(row(0, 10, true, 70), row(1, 10, true, 70)), 0, true, 75, 0},
	} {
		got := orientationConfidence(tt.words, tt.o, tt.readBothWays, tt.other)
		if math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: %.4f, want %.4f", tt.name, got, tt.want)
		}
	}
}
