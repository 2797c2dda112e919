#include "io/weights.h"

#include <errno.h>
#include <hdf5.h>
#include <string.h>
#include <sys/stat.h>

#include "util/check.h"

void wf_open(WeightFile *wf, const char *path) {
    memset(wf, 0, sizeof *wf);
    struct stat st;
    if (stat(path, &st) != 0) hl_fail("%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) hl_fail("%s: is a directory, expected an HDF5 weight file", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* we report errors ourselves, in one line */
    if (H5Fis_hdf5(path) <= 0) hl_fail("%s: not an HDF5 file (corrupt or wrong format)", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) hl_fail("%s: cannot open HDF5 file (corrupt?)", path);
    wf->file = f;
    wf->path = hl_strdup(path);
    if (!wf_has_attr(wf, "format"))
        hl_fail("%s: not a hyperllava weight file (no 'format' attribute)", path);
    char *fmt = wf_attr_str(wf, "format");
    if (strcmp(fmt, "hyperllava") != 0)
        hl_fail("%s: attribute 'format' is '%s', expected 'hyperllava'", path, fmt);
    free(fmt);
    int64_t v = wf_attr_int(wf, "format_version");
    if (v != 1)
        hl_fail("%s: format_version %lld is not supported (expected 1)", path, (long long)v);
}

void wf_close(WeightFile *wf) {
    if (wf->file > 0) H5Fclose((hid_t)wf->file);
    free(wf->path);
    memset(wf, 0, sizeof *wf);
}

int wf_has_attr(const WeightFile *wf, const char *name) {
    return H5Aexists((hid_t)wf->file, name) > 0;
}

static hid_t open_attr(const WeightFile *wf, const char *name) {
    if (!wf_has_attr(wf, name)) hl_fail("%s: missing config attribute '%s'", wf->path, name);
    hid_t a = H5Aopen((hid_t)wf->file, name, H5P_DEFAULT);
    if (a < 0) hl_fail("%s: cannot read attribute '%s'", wf->path, name);
    return a;
}

static void read_attr_numbers(const WeightFile *wf, const char *name, hid_t memtype, void *out,
                              int n) {
    hid_t a = open_attr(wf, name);
    hid_t t = H5Aget_type(a);
    H5T_class_t cls = H5Tget_class(t);
    H5Tclose(t);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        hl_fail("%s: attribute '%s' is not a number", wf->path, name);
    hid_t s = H5Aget_space(a);
    hssize_t count = H5Sget_simple_extent_npoints(s);
    H5Sclose(s);
    if (count != n)
        hl_fail("%s: attribute '%s' has %lld values, expected %d", wf->path, name, (long long)count,
                n);
    if (H5Aread(a, memtype, out) < 0) hl_fail("%s: cannot read attribute '%s'", wf->path, name);
    H5Aclose(a);
}

int64_t wf_attr_int(const WeightFile *wf, const char *name) {
    double d;
    read_attr_numbers(wf, name, H5T_NATIVE_DOUBLE, &d, 1);
    int64_t v = (int64_t)d;
    if ((double)v != d) hl_fail("%s: attribute '%s' = %g is not an integer", wf->path, name, d);
    return v;
}

double wf_attr_real(const WeightFile *wf, const char *name) {
    double d;
    read_attr_numbers(wf, name, H5T_NATIVE_DOUBLE, &d, 1);
    return d;
}

void wf_attr_reals(const WeightFile *wf, const char *name, double *out, int n) {
    read_attr_numbers(wf, name, H5T_NATIVE_DOUBLE, out, n);
}

char *wf_attr_str(const WeightFile *wf, const char *name) {
    hid_t a = open_attr(wf, name);
    hid_t t = H5Aget_type(a);
    if (H5Tget_class(t) != H5T_STRING)
        hl_fail("%s: attribute '%s' is not a string", wf->path, name);
    char *res;
    if (H5Tis_variable_str(t) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        char *p = NULL;
        if (H5Aread(a, mt, &p) < 0 || !p) hl_fail("%s: cannot read attribute '%s'", wf->path, name);
        res = hl_strdup(p);
        H5free_memory(p);
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(t);
        res = hl_calloc(n + 1, 1);
        hid_t mt = H5Tcopy(t);
        if (H5Aread(a, mt, res) < 0) hl_fail("%s: cannot read attribute '%s'", wf->path, name);
        H5Tclose(mt);
    }
    H5Tclose(t);
    H5Aclose(a);
    return res;
}

int wf_has(const WeightFile *wf, const char *name) {
    return H5Lexists((hid_t)wf->file, name, H5P_DEFAULT) > 0;
}

static Dtype dataset_dtype(const WeightFile *wf, hid_t d, const char *name) {
    hid_t t = H5Dget_type(d);
    H5T_class_t cls = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    Dtype res = DT_F32;
    if (cls == H5T_FLOAT && sz == 4)
        res = DT_F32;
    else if (cls == H5T_FLOAT && sz == 2)
        res = DT_F16;
    else if (cls == H5T_INTEGER && sz == 2 && H5Aexists(d, "dtype") > 0) {
        hid_t a = H5Aopen(d, "dtype", H5P_DEFAULT);
        hid_t at = H5Aget_type(a);
        char buf[16] = {0};
        if (H5Tis_variable_str(at) > 0) {
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            char *p = NULL;
            if (H5Aread(a, mt, &p) >= 0 && p) {
                snprintf(buf, sizeof buf, "%s", p);
                H5free_memory(p);
            }
            H5Tclose(mt);
        } else if (H5Tget_size(at) < sizeof buf) {
            H5Aread(a, at, buf);
        }
        H5Tclose(at);
        H5Aclose(a);
        if (strcmp(buf, "bf16") != 0)
            hl_fail("%s: tensor '%s': uint16 data with dtype attribute '%s' (expected bf16)",
                    wf->path, name, buf);
        res = DT_BF16;
    } else {
        hl_fail("%s: tensor '%s': unsupported dtype (%s of %zu bytes); expected f32, f16 or bf16",
                wf->path, name,
                cls == H5T_INTEGER ? "integer"
                : cls == H5T_FLOAT ? "float"
                                   : "non-numeric",
                sz);
    }
    H5Tclose(t);
    return res;
}

static hid_t open_tensor(const WeightFile *wf, const char *name) {
    if (!wf_has(wf, name)) hl_fail("%s: missing tensor '%s'", wf->path, name);
    hid_t d = H5Dopen2((hid_t)wf->file, name, H5P_DEFAULT);
    if (d < 0) hl_fail("%s: '%s' is not a dataset", wf->path, name);
    return d;
}

TensorInfo wf_info(const WeightFile *wf, const char *name) {
    TensorInfo ti = {0};
    hid_t d = open_tensor(wf, name);
    hid_t s = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(s);
    if (nd < 0 || nd > 4)
        hl_fail("%s: tensor '%s' has %d dimensions (at most 4)", wf->path, name, nd);
    hsize_t dims[4] = {0};
    H5Sget_simple_extent_dims(s, dims, NULL);
    ti.ndim = nd;
    for (int i = 0; i < nd; i++) ti.shape[i] = (int64_t)dims[i];
    ti.dtype = dataset_dtype(wf, d, name);
    H5Sclose(s);
    H5Dclose(d);
    return ti;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < n) snprintf(buf + o, n - o, "]");
}

/* Index of the first NaN or infinity in p[0..n), or n when every value is
 * finite (exponent bits all set; one pass the compiler can vectorize). */
static size_t first_nonfinite(const float *p, size_t n) {
    const uint32_t *u = (const uint32_t *)(const void *)p;
    const size_t blk = 4096;
    for (size_t b = 0; b < n; b += blk) {
        size_t e = n - b < blk ? n : b + blk;
        uint32_t bad = 0;
        for (size_t i = b; i < e; i++) bad |= (u[i] & 0x7f800000u) == 0x7f800000u;
        if (!bad) continue;
        for (size_t i = b; i < e; i++)
            if ((u[i] & 0x7f800000u) == 0x7f800000u) return i;
    }
    return n;
}

static const char *nonfinite_name(float v) {
    return v != v ? "nan" : v > 0 ? "inf" : "-inf";
}

/* "[3, 17]": the tensor coordinates of element i of a block read at off with
 * extents cnt. */
static void block_index_str(char *buf, size_t n, int ndim, const hsize_t *off, const hsize_t *cnt,
                            size_t i) {
    int64_t coord[4] = {0};
    for (int k = ndim - 1; k >= 0; k--) {
        coord[k] = (int64_t)(off[k] + i % cnt[k]);
        i /= cnt[k];
    }
    shape_str(buf, n, ndim ? ndim : 1, coord);
}

/* Reads the block and converts it to float32; checks nothing of the values. */
static void read_block(WeightFile *wf, const char *name, const TensorInfo *ti, int ndim,
                       const hsize_t *off, const hsize_t *cnt, size_t n, float *out) {
    hl_test_point("weights.read");
    if (wf->alive) wf->alive(wf->alive_arg);
    hid_t d = open_tensor(wf, name);
    hid_t fs = H5Dget_space(d);
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0)
        hl_fail("%s: tensor '%s': bad slice", wf->path, name);
    hid_t ms = H5Screate_simple(ndim ? ndim : 1, ndim ? cnt : (hsize_t[]){1}, NULL);
    herr_t rc;
    if (ti->dtype == DT_F32) {
        rc = H5Dread(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out);
        wf->bytes_read += n * 4;
    } else {
        /* Read the 16-bit words as they are and widen them here: HDF5 has no bf16 type. */
        uint16_t *raw = hl_malloc(n * 2);
        hid_t mt = H5Tcopy(H5T_NATIVE_UINT16);
        if (ti->dtype == DT_F16) {
            /* Reading a float dataset as an integer would convert values; read raw bytes. */
            H5Tclose(mt);
            mt = H5Dget_type(d);
        }
        rc = H5Dread(d, mt, ms, fs, H5P_DEFAULT, raw);
        H5Tclose(mt);
        for (size_t i = 0; i < n; i++)
            out[i] = ti->dtype == DT_F16 ? hl_half_to_float(raw[i]) : hl_bf16_to_float(raw[i]);
        free(raw);
        wf->bytes_read += n * 2;
    }
    if (rc < 0) hl_fail("%s: tensor '%s': read failed (corrupt file?)", wf->path, name);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
}

void wf_read(WeightFile *wf, const char *name, int ndim, const int64_t *shape, int dim,
             int64_t start, int64_t count, float *out) {
    TensorInfo ti = wf_info(wf, name);
    int same = ti.ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = ti.shape[i] == shape[i];
    if (!same) {
        char want[96], got[96];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, ti.ndim, ti.shape);
        hl_fail("%s: tensor '%s' has shape %s, expected %s", wf->path, name, got, want);
    }
    CHECK(dim < ndim);
    hsize_t off[4] = {0}, cnt[4];
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        cnt[i] = (hsize_t)shape[i];
        if (i == dim) {
            CHECK(start >= 0 && count >= 0 && start + count <= shape[i]);
            off[i] = (hsize_t)start;
            cnt[i] = (hsize_t)count;
        }
        n *= cnt[i];
    }
    if (n == 0) return;
    read_block(wf, name, &ti, ndim, off, cnt, n, out);
    size_t bad = first_nonfinite(out, n);
    if (bad < n) {
        char at[96];
        block_index_str(at, sizeof at, ndim, off, cnt, bad);
        hl_fail("%s: tensor '%s' holds a non-finite value (%s) at %s", wf->path, name,
                nonfinite_name(out[bad]), at);
    }
}

int64_t wf_count_nonfinite(WeightFile *wf, const char *name, char *first, size_t first_cap) {
    TensorInfo ti = wf_info(wf, name);
    hsize_t off[4] = {0}, cnt[4];
    size_t row = 1;
    for (int i = 0; i < ti.ndim; i++) cnt[i] = (hsize_t)ti.shape[i];
    for (int i = 1; i < ti.ndim; i++) row *= cnt[i];
    int64_t rows = ti.ndim ? ti.shape[0] : 1, step = rows;
    if (row > 0 && (size_t)step * row > ((size_t)1 << 24))
        step = (int64_t)(((size_t)1 << 24) / row);
    if (step < 1) step = 1;
    float *buf = hl_malloc((size_t)step * row * sizeof(float));
    int64_t bad = 0;
    if (first_cap) first[0] = 0;
    for (int64_t r0 = 0; r0 < rows && row > 0; r0 += step) {
        int64_t nr = rows - r0 < step ? rows - r0 : step;
        if (ti.ndim) off[0] = (hsize_t)r0, cnt[0] = (hsize_t)nr;
        size_t n = (size_t)nr * row;
        read_block(wf, name, &ti, ti.ndim, off, cnt, n, buf);
        for (size_t i = first_nonfinite(buf, n); i < n;
             i = i + 1 + first_nonfinite(buf + i + 1, n - i - 1)) {
            if (bad++ == 0 && first_cap) {
                char at[96];
                block_index_str(at, sizeof at, ti.ndim, off, cnt, i);
                snprintf(first, first_cap, "%s at %s", nonfinite_name(buf[i]), at);
            }
        }
    }
    free(buf);
    return bad;
}

int wf_list(const WeightFile *wf, char ***names) {
    /* Index-based walk: portable across the HDF5 1.10 and 1.12+ APIs. */
    H5G_info_t gi;
    if (H5Gget_info((hid_t)wf->file, &gi) < 0) hl_fail("%s: cannot list the root group", wf->path);
    char **list = hl_calloc(gi.nlinks + 1, sizeof(char *));
    int n = 0;
    for (hsize_t i = 0; i < gi.nlinks; i++) {
        ssize_t len = H5Lget_name_by_idx((hid_t)wf->file, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL,
                                         0, H5P_DEFAULT);
        if (len < 0) continue;
        char *name = hl_malloc((size_t)len + 1);
        H5Lget_name_by_idx((hid_t)wf->file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                           (size_t)len + 1, H5P_DEFAULT);
        hid_t o = H5Oopen((hid_t)wf->file, name, H5P_DEFAULT);
        if (o >= 0 && H5Iget_type(o) == H5I_DATASET)
            list[n++] = name;
        else
            free(name);
        if (o >= 0) H5Oclose(o);
    }
    *names = list;
    return n;
}

void *wf_read_raw(const WeightFile *wf, const char *name, int64_t *n, int elem_size) {
    hid_t d = open_tensor(wf, name);
    hid_t s = H5Dget_space(d);
    hssize_t cnt = H5Sget_simple_extent_npoints(s);
    hid_t t = H5Dget_type(d);
    if ((int)H5Tget_size(t) != elem_size)
        hl_fail("%s: dataset '%s' has %zu-byte elements, expected %d", wf->path, name,
                H5Tget_size(t), elem_size);
    hid_t mt = H5Tget_native_type(t, H5T_DIR_ASCEND);
    void *buf = hl_malloc((size_t)cnt * (size_t)elem_size + 1);
    if (cnt > 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        hl_fail("%s: dataset '%s': read failed", wf->path, name);
    H5Tclose(mt);
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    *n = cnt;
    return buf;
}

int64_t wf_group_attr_int(const WeightFile *wf, const char *group, const char *name,
                          int64_t fallback) {
    if (H5Aexists_by_name((hid_t)wf->file, group, name, H5P_DEFAULT) <= 0) return fallback;
    hid_t a = H5Aopen_by_name((hid_t)wf->file, group, name, H5P_DEFAULT, H5P_DEFAULT);
    int64_t v = fallback;
    if (a < 0 || H5Aread(a, H5T_NATIVE_INT64, &v) < 0)
        hl_fail("%s: cannot read attribute '%s/%s'", wf->path, group, name);
    H5Aclose(a);
    return v;
}
