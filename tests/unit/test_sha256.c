/* SHA-256 against the NIST examples (FIPS 180-2 appendix B and the CAVP
 * SHA256ShortMsg file), lengths around the 55/56/64-byte padding boundaries
 * (digests from Python's hashlib) and streaming in every chunk size. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/sha256.h"

static void check(const char *name, const void *msg, size_t n, const char *want) {
    char hex[65];
    sha256_hex(msg, n, hex);
    EXPECT(!strcmp(hex, want), "%s: got %s want %s", name, hex, want);
}

static void check_hexmsg(const char *name, const char *msg_hex, const char *want) {
    size_t n = strlen(msg_hex) / 2;
    unsigned char buf[64];
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(msg_hex + 2 * i, "%2x", &v);
        buf[i] = (unsigned char)v;
    }
    check(name, buf, n, want);
}

int main(void) {
    /* FIPS 180-2 appendix B.1-B.3 and the empty message */
    check("empty", "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check("abc", "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check("448 bits", m448, strlen(m448),
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check("896 bits", m896, strlen(m896),
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    /* CAVP SHA256ShortMsg, Len = 8 and 16 */
    check_hexmsg("d3", "d3", "28969cdfa74a12c82f3bad960b0b000aca2ac329deea5c2328ebc6f2ba9802c1");
    check_hexmsg("11af", "11af",
                 "5ca7133fa735326081558ac312c620eeca9970d1e70a4b95533d956f072d1f98");

    /* one million 'a' (B.3), in one call and in uneven chunks */
    size_t big = 1000000;
    char *a = malloc(big);
    memset(a, 'a', big);
    const char *want_m = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    check("million a", a, big, want_m);
    Sha256 s;
    uint8_t d[32];
    char hex[65];
    sha256_init(&s);
    for (size_t o = 0, step = 1; o < big; o += step, step = step * 7 % 1013 + 1)
        sha256_update(&s, a + o, o + step <= big ? step : big - o);
    sha256_final(&s, d);
    sha256_to_hex(d, hex);
    EXPECT(!strcmp(hex, want_m), "million a in chunks: got %s", hex);

    /* padding boundaries: n 'a' bytes (hashlib.sha256(b'a' * n)) */
    static const struct {
        size_t n;
        const char *hex;
    } pads[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
        {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
    };
    for (size_t i = 0; i < sizeof pads / sizeof *pads; i++) {
        char name[32];
        snprintf(name, sizeof name, "%zu x 'a'", pads[i].n);
        check(name, a, pads[i].n, pads[i].hex);
    }

    /* streaming: every chunk size over a 1000-byte message gives the one-shot digest */
    unsigned char msg[1000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof msg; i++)
        x = x * 1103515245u + 12345u, msg[i] = (unsigned char)(x >> 16);
    char one[65];
    sha256_hex(msg, sizeof msg, one);
    int bad = 0;
    for (size_t step = 1; step <= 200; step++) {
        sha256_init(&s);
        for (size_t o = 0; o < sizeof msg; o += step)
            sha256_update(&s, msg + o, o + step <= sizeof msg ? step : sizeof msg - o);
        sha256_final(&s, d);
        sha256_to_hex(d, hex);
        bad += strcmp(hex, one) != 0;
    }
    EXPECT(bad == 0, "%d chunk sizes give another digest", bad);
    free(a);
    return test_done("sha256");
}
