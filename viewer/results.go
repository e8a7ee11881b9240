package viewer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/results"
)

// DefaultSize is the input side assumed when a results folder does not record one.
const DefaultSize = 448

// OpenDir opens what `ideal-view DIR` names: a results folder written by `ideal score
// --out` or `ideal eval --out` (its view.json, or that file), else the JSON of `ideal
// score --json` (see Load).
func OpenDir(path string) ([]*Episode, error) { return OpenDirOn(path, nil) }

// OpenDirOn is OpenDir with the re-scoring run on be (nil: a CPU backend of the
// sessions' own), which stays the caller's to close.
func OpenDirOn(path string, be kernels.Backend) ([]*Episode, error) {
	if _, err := os.Stat(results.ManifestPath(path)); err == nil && filepath.Base(results.ManifestPath(path)) == results.FileName {
		return openResults(path, be)
	}
	qs, err := Load(path)
	if err != nil {
		return nil, err
	}
	return []*Episode{{Queries: qs}}, nil
}

// OpenResults opens a results folder: one episode per class, each with its references,
// its queries' maps and, where the manifest names them, ground-truth masks. When the
// backbone and head the manifest names exist, an episode's masks can be edited and
// its queries re-scored (the features are computed on the first edit, or read from the
// feature cache the manifest names, as `ideal eval` records it); otherwise it
// is read-only. A relative backbone or head path is looked up in the working
// directory, then in the folder.
func OpenResults(path string) ([]*Episode, error) { return openResults(path, nil) }

func openResults(path string, be kernels.Backend) ([]*Episode, error) {
	m, err := results.Read(path)
	if err != nil {
		return nil, fmt.Errorf("viewer: %w", err)
	}
	dir := filepath.Dir(results.ManifestPath(path))
	size := m.Size
	if size == 0 {
		size = DefaultSize
	}
	var eps []*Episode
	sh := newShared(be)
	for _, e := range m.Episodes {
		in := Inputs{Backbone: locate(m.Backbone, dir), Head: locate(m.Head, dir), Size: size, Normal: e.Normal, Cache: m.Cache}
		for _, r := range e.Abnormal {
			in.Abnormal = append(in.Abnormal, Ref{Path: r.Path, Mask: r.Mask})
		}
		var qs []*Query
		var paths []string
		for _, rq := range e.Queries {
			paths = append(paths, rq.Path)
		}
		names := queryNames(paths)
		for i, rq := range e.Queries {
			in.Queries = append(in.Queries, rq.Path)
			in.QueryMasks = append(in.QueryMasks, rq.Mask)
			a, sn, sa, err := rq.LoadMaps()
			if err != nil {
				return nil, fmt.Errorf("viewer: %w", err)
			}
			q := &Query{Path: rq.Path, Name: names[i], ImageScore: rq.ImageScore, Grid: rq.Grid}
			q.Maps[MapA], q.Maps[MapSN], q.Maps[MapSA] = a, sn, sa
			qs = append(qs, q)
		}
		s, err := open(in, false, sh)
		if err != nil {
			return nil, fmt.Errorf("%w (class %q of %s)", err, e.Class, path)
		}
		for i, q := range qs {
			if !ideal.IsFeaturesFile(q.Path) {
				if q.Image, err = imaging.LoadRGB(q.Path); err != nil {
					return nil, fmt.Errorf("viewer: query image: %w", err)
				}
			}
			if q.Mask, err = s.groundTruth(i, q); err != nil {
				return nil, err
			}
		}
		s.Preload(qs)
		eps = append(eps, &Episode{Class: e.Class, Session: s})
	}
	return eps, nil
}

// locate resolves a weights path recorded in a manifest: as given when it exists
// (absolute, or relative to the working directory), else relative to the folder.
func locate(p, dir string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return filepath.Join(dir, p)
		}
	}
	return p
}
