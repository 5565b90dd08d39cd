// Package ocr reads the words on a page image with Tesseract (through
// gosseract), with their boxes, the page's orientation and its skew.
//
// One Engine is one single-threaded Tesseract; a Pool runs one engine per
// core. Each page is recognised once (one GetBoundingBoxesVerbose call):
// gosseract's Text, HOCRText and GetBoundingBoxes* each run recognition
// again, so everything in a Result is derived from that one answer.
//
// # Orientation
//
// Engines run Tesseract in PSM_AUTO_OSD: one pass detects the orientation,
// recognises the text of a turned page correctly, and returns the boxes in
// the coordinates of the image as given. Orientation is then read from the
// words themselves (the direction successive words of a line run in). OSD
// needs a fair amount of text; a short page fed upside down is caught by
// its low confidence and read again turned by 180° in memory.
//
// # Threads
//
// Debian's Tesseract is built with OpenMP. os.Setenv("OMP_THREAD_LIMIT")
// comes too late (libgomp reads its environment when the process loads),
// so each recognition limits OpenMP on its own OS thread instead, unless
// OMP_THREAD_LIMIT was set in the environment the process started with.
package ocr
