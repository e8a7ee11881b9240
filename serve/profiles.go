package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
)

// profileInfo is a profile as the API shows it.
type profileInfo struct {
	Name      string    `json:"name"`
	Backbone  string    `json:"backbone"`
	Head      string    `json:"head,omitempty"`
	Size      int       `json:"size"`
	Threshold float32   `json:"threshold"`
	Normal    int       `json:"normal"`
	Abnormal  int       `json:"abnormal"`
	Warnings  []string  `json:"warnings,omitempty"`
	Created   time.Time `json:"created"`
}

func (p *profile) info() profileInfo {
	return profileInfo{Name: p.spec.Name, Backbone: p.spec.Backbone, Head: p.spec.Head, Size: p.spec.Size,
		Threshold: p.spec.Threshold, Normal: len(p.spec.Normal), Abnormal: len(p.spec.Abnormal),
		Warnings: p.ep.Warnings(), Created: p.spec.Created}
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	out := make([]profileInfo, 0, len(s.profiles))
	for _, p := range s.profiles {
		out = append(out, p.info())
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, map[string]any{"profiles": out})
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	p := s.lookup(r.PathValue("name"))
	if p == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no profile %q", r.PathValue("name")))
		return
	}
	defer p.mu.RUnlock()
	writeJSON(w, http.StatusOK, p.info())
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validName(name) {
		writeError(w, http.StatusBadRequest, ErrBadName.Error())
		return
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	found, err := s.store.remove(name)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.mu.Lock()
	p := s.profiles[name]
	delete(s.profiles, name)
	s.mu.Unlock()
	if p != nil {
		go p.close()
	}
	if !found && p == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no profile %q", name))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handlePut creates or replaces a profile from a multipart upload: the field "json"
// (a Spec: backbone, head, size, threshold) and the files normal, abnormal and mask
// (the i-th mask belongs to the i-th abnormal; "normal[]" and the like are accepted).
// The episode is prepared before anything is stored, so that a bad upload changes
// nothing.
func (s *Server) handlePut(w http.ResponseWriter, r *http.Request) {
	if !s.Ready() {
		writeError(w, http.StatusServiceUnavailable, "the server is still loading its profiles")
		return
	}
	u, err := s.readUpload(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	ctx, cancel := s.deadline(r)
	defer cancel()
	release, err := s.lim.acquire(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	p, replaced, err := s.create(ctx, u)
	release()
	if err != nil {
		s.fail(w, err)
		return
	}
	code := http.StatusCreated
	if replaced {
		code = http.StatusOK
	}
	writeJSON(w, code, p.info())
}

// create prepares u's episode, and then stores u and installs it, replacing any
// profile of its name.
func (s *Server) create(ctx context.Context, u *upload) (p *profile, replaced bool, err error) {
	p, err = s.prepare(ctx, u)
	if err != nil {
		return nil, false, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	spec, err := s.store.save(u)
	if err != nil {
		p.close()
		return nil, false, err
	}
	p.spec = spec
	return p, s.put(p), nil
}

func nowUTC() time.Time { return time.Now().UTC() }

// readUpload reads a profile upload.
func (s *Server) readUpload(r *http.Request) (*upload, error) {
	mr, err := multipartReader(r)
	if err != nil {
		return nil, err
	}
	u := &upload{}
	gotSpec := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badUpload(err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, badUpload(err)
		}
		switch strings.TrimSuffix(part.FormName(), "[]") {
		case "json":
			if err := json.Unmarshal(b, &u.spec); err != nil {
				return nil, fmt.Errorf("%w: field json: %v", ideal.ErrBadInput, err)
			}
			gotSpec = true
		case "normal":
			u.normal = append(u.normal, b)
		case "abnormal":
			u.abnormal = append(u.abnormal, b)
		case "mask":
			u.masks = append(u.masks, b)
		default:
			return nil, fmt.Errorf("%w: unknown field %q (want json, normal, abnormal, mask)", ideal.ErrBadInput, part.FormName())
		}
		if n := len(u.normal) + len(u.abnormal); n > s.cfg.MaxRefs {
			return nil, fmt.Errorf("%w: more than %d reference images", ideal.ErrBadInput, s.cfg.MaxRefs)
		}
	}
	switch {
	case !gotSpec:
		return nil, fmt.Errorf("%w: the field json (the profile: backbone, head, size, threshold) is missing", ideal.ErrBadInput)
	case len(u.masks) != len(u.abnormal):
		return nil, fmt.Errorf("%w: %d abnormal images but %d masks: each needs its mask, in the same order", ideal.ErrBadInput, len(u.abnormal), len(u.masks))
	}
	u.spec.Name = r.PathValue("name")
	u.spec.Created = nowUTC()
	return u, checkSpec(&u.spec)
}

// multipartReader returns the body's multipart reader, or a bad-input error.
func multipartReader(r *http.Request) (*multipart.Reader, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return nil, fmt.Errorf("%w: want a multipart/form-data body (Content-Type %q)", ideal.ErrBadInput, r.Header.Get("Content-Type"))
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ideal.ErrBadInput, err)
	}
	return mr, nil
}

// badUpload classifies an error reading a body: too large stays itself, anything else
// is bad input (a truncated or malformed body).
func badUpload(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return fmt.Errorf("the request body is larger than %d bytes: %w", mb.Limit, err)
	}
	return fmt.Errorf("%w: reading the body: %v", ideal.ErrBadInput, err)
}

func decodeMask(name string, b []byte) (*imaging.Mask, error) {
	m, err := imaging.DecodeMask(b)
	if err != nil {
		return nil, &ideal.InputError{Path: name, Err: err}
	}
	return m, nil
}
