// Command gensamples writes a set of synthetic Vietnamese scans for trying
// the station by hand and for end-to-end tests:
//
//	go run ./scripts/gensamples -out DIR
//
// It writes sample-a4.jpg (colour, 300 dpi), sample-2pages.tif (two pages),
// sample-upside-down.jpg, sample-skew2.png (turned 2° clockwise) and
// sample-scanner.pdf (two JPEG pages wrapped by img2pdf, as many scanners
// deliver; skipped with a message when img2pdf is not installed).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"scanstation/internal/samplescan"
)

const dpi = 300

// secondPage is the text of page 2 in multi-page samples: an attachment list
// of the kind that follows an official letter.
var secondPage = []string{
	"PHỤ LỤC",
	"DANH MỤC HỒ SƠ, TÀI LIỆU ĐỀ NGHỊ SỐ HÓA",
	"(Kèm theo Công văn số 2417/UBND-VP ngày 05/6/2020)",
	"",
	"1. Hồ sơ cấp giấy chứng nhận quyền sử dụng đất năm 2015.",
	"2. Sổ đăng ký văn bản đi, văn bản đến của Văn phòng.",
	"3. Biên bản họp giao ban hằng tháng của Ủy ban nhân dân.",
	"4. Quyết định khen thưởng tập thể, cá nhân năm 2019.",
	"5. Báo cáo tổng kết công tác cải cách hành chính.",
}

func main() {
	out := flag.String("out", "samples", "directory to write the samples into")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gensamples:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	page1, err := samplescan.Render(samplescan.Options{})
	if err != nil {
		return err
	}
	page2, err := samplescan.Render(samplescan.Options{Lines: secondPage})
	if err != nil {
		return err
	}
	upsideDown, err := samplescan.Render(samplescan.Options{UpsideDown: true})
	if err != nil {
		return err
	}
	skewed, err := samplescan.Render(samplescan.Options{Skew: 2, Gray: true})
	if err != nil {
		return err
	}
	jpegOf := func(img image.Image) func(io.Writer) error {
		return func(w io.Writer) error { return samplescan.WriteJPEG(w, img, dpi, 85) }
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"sample-a4.jpg", jpegOf(page1)},
		{"sample-2pages.tif", func(w io.Writer) error {
			return samplescan.WriteTIFF(w, []image.Image{page1, page2}, dpi)
		}},
		{"sample-upside-down.jpg", jpegOf(upsideDown)},
		{"sample-skew2.png", func(w io.Writer) error { return samplescan.WritePNG(w, skewed, dpi) }},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.write); err != nil {
			return err
		}
	}
	return writeScannerPDF(dir, page1, page2)
}

func writeFile(path string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Println("wrote", path)
	return nil
}

// writeScannerPDF wraps two JPEG pages into a PDF with img2pdf, which keeps
// the JPEG bytes and sizes the pages from their JFIF density, as a scanner's
// own PDF output does.
func writeScannerPDF(dir string, pages ...image.Image) error {
	img2pdf, err := exec.LookPath("img2pdf")
	if err != nil {
		fmt.Println("skipped sample-scanner.pdf: img2pdf is not installed (Debian package img2pdf)")
		return nil
	}
	tmp, err := os.MkdirTemp("", "gensamples-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := []string{"-o", filepath.Join(dir, "sample-scanner.pdf")}
	for i, p := range pages {
		path := filepath.Join(tmp, fmt.Sprintf("page%d.jpg", i+1))
		var buf bytes.Buffer
		if err := samplescan.WriteJPEG(&buf, p, dpi, 85); err != nil {
			return fmt.Errorf("page %d of sample-scanner.pdf: %w", i+1, err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return err
		}
		args = append(args, path)
	}
	if msg, err := exec.Command(img2pdf, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("img2pdf: %v: %s", err, msg)
	}
	fmt.Println("wrote", filepath.Join(dir, "sample-scanner.pdf"))
	return nil
}
