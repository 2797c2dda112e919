/* Writing NumPy .npy files (format version 1.0) of float32 arrays, so a
 * tensor of the engine can be loaded with numpy.load and compared with
 * Python's. The file is what numpy.save writes for the same array, byte for
 * byte: magic "\x93NUMPY", version 1.0, a little-endian uint16 header length,
 * the header dict {'descr': '<f4', 'fortran_order': False, 'shape': (...), }
 * with numpy's spare room for growing the first axis, padded with spaces and
 * a final '\n' so the data starts at a multiple of 64 bytes; then the values
 * as little-endian float32 in C order. */
#ifndef HL_NPY_H
#define HL_NPY_H

#include <stddef.h>
#include <stdint.h>

/* The header numpy.save would write for a '<f4' C-order array of the given
 * shape (0 <= ndim <= 8): writes it into buf (cap bytes) and returns its
 * length, a multiple of 64. */
size_t npy_header_f32(const int64_t *shape, int ndim, char *buf, size_t cap);

/* Writes data (prod(shape) floats) to path; hl_fail on an I/O error. */
void npy_write_f32(const char *path, const float *data, const int64_t *shape, int ndim);

/* The little-endian bytes of n floats (out: 4 * n bytes), whatever the host's
 * byte order: what numpy's astype('<f4').tobytes() gives. */
void npy_f32_to_le(const float *x, size_t n, uint8_t *out);

#endif
