package metrics

// labelRegions writes into labels (len width·height) the 8-connected component
// of every mask pixel, numbered from 1 in the raster order of their first pixel,
// and 0 for pixels outside the mask. It returns the size of every component
// (sizes[k-1] for label k). stack is scratch space that is returned, possibly
// grown, for reuse.
func labelRegions(mask []bool, width, height int, labels []int32, stack []int32) (sizes []uint32, _ []int32) {
	return labelConnected(mask, width, height, labels, stack, true)
}

// labelRegions4 is labelRegions with 4-connected components (edge neighbours only:
// scipy.ndimage.label's default structure in 2-D).
func labelRegions4(mask []bool, width, height int, labels []int32, stack []int32) (sizes []uint32, _ []int32) {
	return labelConnected(mask, width, height, labels, stack, false)
}

// labelConnected labels the 8-connected (eight) or 4-connected components of mask.
func labelConnected(mask []bool, width, height int, labels []int32, stack []int32, eight bool) (sizes []uint32, _ []int32) {
	clear(labels)
	var next int32
	for start, m := range mask {
		if !m || labels[start] != 0 {
			continue
		}
		next++
		labels[start] = next
		stack = append(stack[:0], int32(start))
		var size uint32
		for len(stack) > 0 {
			p := int(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			size++
			x, y := p%width, p/width
			for dy := -1; dy <= 1; dy++ {
				yy := y + dy
				if yy < 0 || yy >= height {
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					xx := x + dx
					if xx < 0 || xx >= width || !eight && dx != 0 && dy != 0 {
						continue
					}
					q := yy*width + xx
					if mask[q] && labels[q] == 0 {
						labels[q] = next
						stack = append(stack, int32(q))
					}
				}
			}
		}
		sizes = append(sizes, size)
	}
	return sizes, stack
}
