package weights

import (
	"errors"
	"fmt"
	"io"
)

// ReadTorchScript reads the tensors of a TorchScript archive written by torch.jit.save
// (for example of a torch.jit.trace). Its data.pkl holds the module tree as objects of
// "__torch__.*" classes whose state is their attributes; the tree is walked and every
// tensor attribute is named by its dotted path, as state_dict() would name it
// ("inner.vision_encoder.blocks.0.attn.qkv.weight"). The code/ folder is never read:
// nothing from the archive is interpreted. All tensor attributes are returned, so
// non-persistent buffers, which state_dict() would leave out, are included too. Tensors
// are converted to contiguous float32 as by ReadPth; Metadata["torchscript_class"] names
// the root module's class.
func ReadTorchScript(path string) (*File, error) { return readArchiveFile(path, DecodeTorchScript) }

// DecodeTorchScript decodes a torch.jit.save archive of the given size; see ReadTorchScript.
func DecodeTorchScript(r io.ReaderAt, size int64) (*File, error) {
	a, err := openTorchArchive(r, size)
	if err != nil {
		return nil, err
	}
	if !a.isTorchScript() {
		return nil, errors.New("not a TorchScript archive (no constants.pkl): read a torch.save file with ReadPth or Load")
	}
	return a.torchScript()
}

// torchScript reads the archive as a TorchScript module tree.
func (a *torchArchive) torchScript() (*File, error) {
	root, err := a.unpickle("data.pkl", true)
	if err != nil {
		return nil, err
	}
	m, ok := root.(*moduleObject)
	if !ok {
		return nil, fmt.Errorf("data.pkl holds %s, not a TorchScript module", describe(root))
	}
	w := &treeWalk{tensors: map[string]*torchTensor{}}
	if err := w.module(m, "", 0); err != nil {
		return nil, err
	}
	f, err := a.file(w.tensors, "torchscript")
	if err != nil {
		return nil, err
	}
	f.Metadata["torchscript_class"] = m.class
	return f, nil
}

// module flattens a module's attributes: tensors are kept, sub-modules entered, plain
// values (training flags, hooks, numbers, strings) skipped. A class with a custom
// __getstate__ whose state is not a dict has no named attributes and is skipped.
func (w *treeWalk) module(m *moduleObject, prefix string, depth int) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("modules nested more than %d deep at %q", maxTreeDepth, clip(prefix))
	}
	for _, e := range dictEntries(m.state) {
		if w.visited++; w.visited > maxTreeNodes {
			return fmt.Errorf("more than %d values in the pickled tree", maxTreeNodes)
		}
		name, ok := e.Key.(string)
		if !ok {
			return fmt.Errorf("attribute name %s of %s (%q) is not a string", describe(e.Key), m.class, clip(prefix))
		}
		switch v := e.Value.(type) {
		case *torchTensor:
			if err := w.add(prefix+name, v); err != nil {
				return err
			}
		case *moduleObject:
			if err := w.module(v, prefix+name+".", depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
