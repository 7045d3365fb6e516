package deid

// extensions filters an extension list: an entry whose URL has a definition (see
// extensionDefinition) is scrubbed with it, any other is dropped whole and counted (unless
// expected), and entries without a url are dropped. parent is the definition of the extension
// the list belongs to (nil for an element's own extensions).
func (w *walker) extensions(m map[string]any, n *node, k string, v any, parent *node) (bool, error) {
	list, ok := asList(v)
	if !ok {
		w.mismatch(n, k)
		return false, nil
	}
	out := list[:0]
	for _, e := range list {
		ext, url := w.extensionURL(n, k, e)
		if ext == nil {
			continue
		}
		def := extensionDefinition(w.s.rules, url, parent)
		if def == nil {
			if !w.s.rules.extExpected[url] {
				w.s.countURL(w.s.unknownExt, unknownName(url, parent))
			}
			continue
		}
		keep, err := w.object(ext, def)
		if err != nil {
			return false, err
		}
		if keep && hasContent(ext) {
			out = append(out, ext)
		}
	}
	return w.storeList(m, k, list, out), nil
}

// hasContent reports whether a scrubbed extension holds anything but its url: one left with only
// its url says nothing.
func hasContent(ext map[string]any) bool {
	for k := range ext {
		if k != "url" && k != "_url" {
			return true
		}
	}
	return false
}

// modifierExtensions scrubs a modifierExtension list; one unknown URL skips the resource.
func (w *walker) modifierExtensions(m map[string]any, n *node, k string, v any) (bool, error) {
	list, ok := asList(v)
	if !ok {
		return false, &skipError{url: "(malformed modifierExtension)"}
	}
	out := list[:0]
	for _, e := range list {
		ext, _ := e.(map[string]any)
		url, _ := ext["url"].(string)
		def := w.s.rules.modifiers[url]
		if def == nil {
			if url == "" {
				url = "(modifierExtension without url)"
			}
			return false, &skipError{url: url}
		}
		keep, err := w.object(ext, def)
		if err != nil {
			return false, err
		}
		if keep {
			out = append(out, ext)
		}
	}
	return w.storeList(m, k, list, out), nil
}

// extensionURL returns an extension entry and its url, or nil (counted) when it has neither.
func (w *walker) extensionURL(n *node, k string, e any) (map[string]any, string) {
	ext, _ := e.(map[string]any)
	url, _ := ext["url"].(string)
	if url == "" {
		w.mismatch(n, k)
		return nil, ""
	}
	return ext, url
}

// contained scrubs contained resources with their own type's rules. Their ids hash with no
// resource type, exactly as "#id" references to them do, so the two keep matching.
func (w *walker) contained(m map[string]any, n *node, k string, v any) (bool, error) {
	list, ok := asList(v)
	if !ok {
		w.mismatch(n, k)
		return false, nil
	}
	inner := walker{s: w.s}
	out := list[:0]
	for _, e := range list {
		res, _ := e.(map[string]any)
		rt, _ := res["resourceType"].(string)
		rules := w.s.rules.resources[rt]
		if rules == nil {
			w.mismatch(n, k)
			continue
		}
		keep, err := inner.object(res, rules)
		if err != nil {
			return false, err
		}
		if keep {
			out = append(out, res)
		}
	}
	return w.storeList(m, k, list, out), nil
}

// asList returns an array, treating a lone object as a one-element array (a common mistake).
func asList(v any) ([]any, bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case map[string]any:
		return []any{t}, true
	}
	return nil, false
}
