package release

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// archiveFile is one file to put in an archive.
type archiveFile struct {
	Name string // inside the archive's top directory
	Mode int64
	Data []byte // or
	Path string // a file to stream
}

// writeArchive writes a reproducible tar.gz: one top directory, entries
// sorted by name, fixed owner, mode and mtime, and a gzip header without a
// name or time. The same inputs give the same bytes on any machine with the
// same Go release (compress/flate's output is part of the Go release).
func writeArchive(w io.Writer, top string, files []archiveFile, mtime time.Time) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	// gzip.Writer's Header is zero: no name, no mtime, OS "unknown".
	tw := tar.NewWriter(zw)
	hdr := func(name string, mode int64, size int64, typ byte) *tar.Header {
		return &tar.Header{Typeflag: typ, Name: name, Mode: mode, Size: size, ModTime: mtime.UTC().Truncate(time.Second),
			Uid: 0, Gid: 0, Uname: "", Gname: "", Format: tar.FormatUSTAR}
	}
	if err := tw.WriteHeader(hdr(top+"/", 0o755, 0, tar.TypeDir)); err != nil {
		return err
	}
	sorted := append([]archiveFile(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, f := range sorted {
		var r io.Reader
		size := int64(len(f.Data))
		if f.Path != "" {
			fh, err := os.Open(f.Path)
			if err != nil {
				return err
			}
			defer fh.Close()
			st, err := fh.Stat()
			if err != nil {
				return err
			}
			r, size = fh, st.Size()
		} else {
			r = strings.NewReader(string(f.Data))
		}
		if err := tw.WriteHeader(hdr(top+"/"+f.Name, f.Mode, size, tar.TypeReg)); err != nil {
			return err
		}
		if n, err := io.Copy(tw, r); err != nil || n != size {
			return fmt.Errorf("archiving %s: wrote %d of %d bytes: %v", f.Name, n, size, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// Bounds on what an archive may hold, so a hostile archive cannot exhaust
// memory or disk.
const (
	maxBinary         = 1 << 30 // 1 GiB
	maxArchiveEntries = 64
)

// archiveContent is what readArchive found.
type archiveContent struct {
	Manifest     []byte // the release.json inside
	BinarySHA256 string // of the entry at binaryPath
	BinarySize   int64
	HasBinary    bool
}

// readArchive reads an archive: the manifest into memory, and the entry at
// binaryPath hashed (and, when binaryOut is not nil, copied there). Any
// entry outside the top directory, a link, a device or an oversized entry
// refuses the archive.
func readArchive(archivePath, top, binaryPath string, binaryOut io.Writer) (*archiveContent, error) {
	f, err := os.Open(archivePath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip archive: %v", archivePath, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	out := &archiveContent{}
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: corrupt archive: %v", archivePath, err)
		}
		if n >= maxArchiveEntries {
			return nil, fmt.Errorf("%s: more than %d entries: not a forkgate release", archivePath, maxArchiveEntries)
		}
		name := h.Name
		if clean := path.Clean(name); clean != strings.TrimSuffix(name, "/") || !(clean == top || strings.HasPrefix(clean, top+"/")) {
			return nil, fmt.Errorf("%s: entry %q is outside %s/: not a forkgate release", archivePath, name, top)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			return nil, fmt.Errorf("%s: entry %q is not a regular file", archivePath, name)
		}
		if h.Size < 0 || h.Size > maxBinary {
			return nil, fmt.Errorf("%s: entry %q has size %d (limit %d)", archivePath, name, h.Size, maxBinary)
		}
		switch name {
		case top + "/" + ManifestFile:
			if h.Size > maxManifest {
				return nil, fmt.Errorf("%s: %s is %d bytes (limit %d)", archivePath, name, h.Size, maxManifest)
			}
			if out.Manifest, err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("%s: %s: %v", archivePath, name, err)
			}
		case binaryPath:
			hs := sha256.New()
			w := io.Writer(hs)
			if binaryOut != nil {
				w = io.MultiWriter(hs, binaryOut)
			}
			n, err := io.Copy(w, tr)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %v", archivePath, name, err)
			}
			out.BinarySHA256, out.BinarySize, out.HasBinary = hex.EncodeToString(hs.Sum(nil)), n, true
		}
	}
	if out.Manifest == nil {
		return nil, fmt.Errorf("%s holds no %s/%s: not a forkgate release archive", archivePath, top, ManifestFile)
	}
	return out, nil
}

// archiveTop is the top directory of an archive: its name without .tar.gz.
func archiveTop(archive string) string { return strings.TrimSuffix(archive, ".tar.gz") }
