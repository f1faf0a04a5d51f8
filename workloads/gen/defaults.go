package gen

// Default sets *v to d when *v is the zero value: a configuration's "zero
// takes the default" in one line per field.
func Default[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}
