// Package ocr reads the words on a page image with Tesseract (through
// gosseract v2.4.1), with their boxes, the page's orientation and its skew.
//
// One Engine is one single-threaded Tesseract; a Pool runs one engine per
// core. Each page is recognised once (one GetBoundingBoxesVerbose call):
// gosseract's Text, HOCRText and GetBoundingBoxes* each run recognition
// again, so everything in a Result is derived from that one answer.
//
// # Orientation
//
// Engines run Tesseract in PSM_AUTO_OSD: one pass detects the orientation,
// reads a turned page correctly, and returns the boxes in the coordinates of
// the image as given. Orientation is read from the words themselves: the
// direction in which successive words of a line run. The mode is set as a
// Tesseract variable because gosseract's SetPageSegMode is applied before
// initialisation, which resets it (it then silently runs in single-block
// mode, and PSM_AUTO_OSD has no effect at all).
//
// OSD needs a fair amount of text. A short page fed upside down comes back
// unturned with a low mean confidence; such a page is read once more,
// turned by 180° in memory (the record's image is never changed), and the
// turned reading is kept when it is clearly better.
//
// Measured on synthetic A4 pages at 300 dpi (JPEG, vie+eng, Debian
// Tesseract 5.3, one thread, 2-core AMD EPYC, CPU seconds a page):
//
//	PSM_AUTO_OSD, upright            1.25 s   confidence 96
//	PSM_AUTO_OSD, upside down        1.23 s   confidence 96
//	PSM_AUTO, upright                1.09 s   confidence 96
//	PSM_AUTO, upside down            1.56 s   confidence 59 (unreadable)
//	Leptonica decode check           0.04 s
//	turn 180° in memory              0.16 s
//
// Recognising without OSD and retrying every low-confidence page turned
// would cost 1.09 s upright but 2.8 s upside down, and cannot read pages
// turned 90° counter-clockwise; OSD costs 0.16 s on every page and reads
// all four orientations in one pass. OSD it is, with the retry kept for
// short pages only OSD misses.
//
// Character error rate against the rendered text (NFC, white space made
// single): upright page 0.013 (tone marks lost on bold all-caps headings:
// "TINH", "CONG HOA XA HOI"), upside down 0.004, turned 90° 0.004-0.012,
// skewed ±2° 0.005-0.006. Skew is estimated within 0.05° of the truth on
// those pages.
//
// # Threads
//
// Debian's Tesseract is built with OpenMP. os.Setenv("OMP_THREAD_LIMIT")
// comes too late: libgomp reads its environment when the process loads,
// before the Go runtime starts (measured: 3.5 CPU s a page with or without
// the Setenv, 1.0 s with the variable set before start). Each recognition
// therefore limits OpenMP on its own OS thread, unless OMP_THREAD_LIMIT was
// set in the environment the process started with. With 4 pages at a time:
// one single-threaded engine 54 pages/min; two 91 pages/min; two engines
// with OpenMP's default threads 39 pages/min at 2.2 CPU s a page.
//
// # Memory
//
// gosseract v2.4.1 never frees the per-word strings nor the result iterator
// behind GetBoundingBoxesVerbose. Over 50 warm pages of 214 words each,
// resident memory grew by 6.2 KiB a page (about 30 bytes a word): some
// 30 MB for 5,000 pages. Closing an engine does not give it back (nothing
// points to those strings any more); only a restart of the process does,
// so a station that runs for months should be restarted now and then (a
// systemd RuntimeMaxSec, or a restart after N pages). The library is not
// patched here.
package ocr
