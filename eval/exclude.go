package eval

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadPathList reads a list of paths, one a line; blank lines and lines starting
// with '#' are skipped, and each line is trimmed of surrounding spaces.
func ReadPathList(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

// excludeSet resolves Options.Exclude (absolute, or relative to root) to absolute
// paths; nil when there are none.
func excludeSet(root string, paths []string) (map[string]bool, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	out := make(map[string]bool, len(paths))
	for _, p := range paths {
		a, err := filepath.Abs(resolve(root, p))
		if err != nil {
			return nil, err
		}
		out[a] = true
	}
	return out, nil
}

// protocolWarnings records the warnings of the data set and of the episodes, and
// counts the test images that exclude names (warning about the paths that name none).
func (r *run) protocolWarnings(exclude map[string]bool) {
	for _, w := range r.ds.Warnings() {
		r.warn(w)
	}
	for _, ep := range r.eps {
		for _, w := range ep.Warnings {
			r.warn("class " + ep.Class + ": " + w)
		}
	}
	if len(exclude) == 0 {
		return
	}
	used := map[string]bool{}
	for _, c := range r.ds.Classes {
		for _, s := range c.Test {
			if a, err := filepath.Abs(s.Path); err == nil && exclude[a] {
				used[a] = true
			}
		}
	}
	r.rep.Excluded = len(used)
	if len(used) < len(exclude) {
		var first string
		for _, p := range r.opts.Exclude {
			if a, err := filepath.Abs(resolve(r.ds.Root, p)); err == nil && !used[a] {
				first = p
				break
			}
		}
		r.warn(fmt.Sprintf("%d of the %d images to exclude are no test image of the classes read (e.g. %s; paths are relative to %s or absolute)",
			len(exclude)-len(used), len(exclude), first, r.ds.Root))
	}
}

// resolve makes a slash-separated path absolute or relative to root.
func resolve(root, p string) string {
	p = filepath.FromSlash(p)
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	return p
}

// warn records a warning in the report and gives it to Options.Warn.
func (r *run) warn(msg string) {
	r.rep.Warnings = append(r.rep.Warnings, msg)
	if r.opts.Warn != nil {
		r.opts.Warn(msg)
	}
}
