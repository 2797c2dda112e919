/* Fuzz target: the weight file's checks of its configuration attributes
 * (wf_open's format checks, model_config_read, the layout numbers). The
 * input is text, a line per root attribute of a fresh HDF5 file:
 *   name=123          a 64-bit integer
 *   name=1e-5         a double (any number with '.', 'e' or "nan"/"inf")
 *   name=1,2.5,3      an array of doubles
 *   name="text"       a string
 * tests/fuzz/make_seeds.py writes the fixture models' attributes this way.
 * The HDF5 library's own file parser is not the target: the file is always
 * well formed. */
#include <hdf5.h>

#include "fuzz.h"
#include "io/weights.h"
#include "model/config.h"
#include "run/config.h"

static void put_attr(hid_t f, const char *name, const char *v) {
    if (!*name || H5Aexists(f, name) != 0) return;
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, n - 2 ? n - 2 : 1);
        hid_t s = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
        char buf[1024] = {0};
        memcpy(buf, v + 1, n - 2 < sizeof buf ? n - 2 : sizeof buf - 1);
        if (a >= 0) H5Awrite(a, t, buf), H5Aclose(a);
        H5Sclose(s), H5Tclose(t);
        return;
    }
    double d[64];
    hsize_t k = 0;
    int real = strpbrk(v, ".eEnNiI,") != NULL;
    for (const char *p = v; *p && k < 64;) {
        char *end;
        d[k] = strtod(p, &end);
        if (end == p) return;
        k++;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return;
    }
    if (k == 0) return;
    hid_t s = k == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &k, NULL);
    hid_t a =
        H5Acreate2(f, name, real ? H5T_IEEE_F64LE : H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        if (real) {
            H5Awrite(a, H5T_NATIVE_DOUBLE, d);
        } else {
            long long ll = (long long)(d[0] > 9e18 ? 9e18 : d[0] < -9e18 ? -9e18 : d[0]);
            H5Awrite(a, H5T_NATIVE_LLONG, &ll);
        }
        H5Aclose(a);
    }
    H5Sclose(s);
}

/* File scope so that the cleanup after a refusal (which jumps out of
 * check) can close what wf_open opened. */
static WeightFile wf;

static void check(const char *path) {
    wf_open(&wf, path);
    ModelConfig c;
    model_config_read(&wf, &c);
    ModelShape m = run_model_shape(&c);
    RunConfig rc;
    run_config_defaults(&rc);
    rc.pp = 2, rc.tp = 2;
    free(run_config_check_layout(&rc, &m, 0));
    wf_close(&wf);
}

/* A refusal leaves the file open, and maybe an attribute of it: close the
 * attributes, datasets and groups with their own calls first, then the file
 * with wf_close, as a program that did not jump would have. */
static void close_refused(void) {
    if (wf.file <= 0) return;
    static const struct {
        unsigned kind;
        herr_t (*close)(hid_t);
    } open[] = {{H5F_OBJ_ATTR, H5Aclose}, {H5F_OBJ_DATASET, H5Dclose}, {H5F_OBJ_GROUP, H5Gclose}};
    for (size_t k = 0; k < sizeof open / sizeof open[0]; k++) {
        hid_t ids[64];
        ssize_t n = H5Fget_obj_ids((hid_t)wf.file, open[k].kind | H5F_OBJ_LOCAL, 64, ids);
        for (ssize_t i = 0; i < n; i++) open[k].close(ids[i]);
    }
    wf_close(&wf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *path;
    if (!path) {
        path = fuzz_temp_path(".h5");
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    }
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) abort();
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        put_attr(f, line, eq + 1);
    }
    free(text);
    H5Fclose(f);
    FUZZ_TRY_THEN(check(path), close_refused());
    return 0;
}
