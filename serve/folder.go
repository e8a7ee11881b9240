package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ideal-fsad/ideal"
)

// ImportFolder imports the profiles of a folder on disk: each subfolder NAME holds
// profile.json (a Spec: backbone, head, size, threshold), normal/ (the normal
// references) and abnormal/ (the abnormal references, each IMAGE beside its mask
// STEM_mask.png). Each is checked as an upload is (names, counts, sizes, the episode
// is prepared) and then stored atomically, replacing a stored profile of its name. A
// profile that fails is skipped; the error joins every failure.
func (s *Server) ImportFolder(ctx context.Context, dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("profiles folder: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		u, err := s.readFolder(filepath.Join(dir, e.Name()))
		if err == nil {
			_, _, err = s.create(ctx, u)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("profile %s: %w", e.Name(), err))
			continue
		}
		s.log.Info("profile imported", "profile", e.Name(), "normal", len(u.normal), "abnormal", len(u.abnormal))
	}
	return errors.Join(errs...)
}

// readFolder reads a profile folder as an upload, with an upload's limits.
func (s *Server) readFolder(dir string) (*upload, error) {
	u := &upload{}
	js, err := os.ReadFile(filepath.Join(dir, "profile.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(js, &u.spec); err != nil {
		return nil, fmt.Errorf("%w: profile.json: %v", ideal.ErrBadInput, err)
	}
	u.spec.Name = filepath.Base(dir)
	u.spec.Created = nowUTC()
	if err := checkSpec(&u.spec); err != nil {
		return nil, err
	}
	total := int64(0)
	rd := func(path string) ([]byte, error) {
		b, err := os.ReadFile(path)
		if total += int64(len(b)); err == nil && total > s.cfg.MaxBody {
			err = fmt.Errorf("%w: the profile's files are larger than %d bytes", ideal.ErrBadInput, s.cfg.MaxBody)
		}
		return b, err
	}
	normal, err := listImages(filepath.Join(dir, "normal"))
	if err != nil {
		return nil, err
	}
	abnormal, err := listImages(filepath.Join(dir, "abnormal"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if n := len(normal) + len(abnormal); n > s.cfg.MaxRefs {
		return nil, fmt.Errorf("%w: %d reference images; at most %d", ideal.ErrBadInput, n, s.cfg.MaxRefs)
	}
	for _, p := range normal {
		b, err := rd(p)
		if err != nil {
			return nil, err
		}
		u.normal = append(u.normal, b)
	}
	for _, p := range abnormal {
		b, err := rd(p)
		if err != nil {
			return nil, err
		}
		m, err := rd(strings.TrimSuffix(p, filepath.Ext(p)) + "_mask.png")
		if err != nil {
			return nil, fmt.Errorf("%w: the abnormal image %s needs its mask beside it: %v", ideal.ErrBadInput, filepath.Base(p), err)
		}
		u.abnormal, u.masks = append(u.abnormal, b), append(u.masks, m)
	}
	return u, nil
}

// listImages lists the regular files of dir but its masks (*_mask.png) and hidden
// files, sorted.
func listImages(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, "_mask.png") {
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	sort.Strings(out)
	return out, nil
}
