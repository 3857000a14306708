/*
 * One whole gzip member inflated by zlib into memory the caller keeps: the page's hashing
 * Workers read a log into this module's memory, inflate it here and hash the content where it
 * lies, with no fresh buffer per log. Built by build.sh (zlib 1.2.13, clang --target=wasm32).
 */
#include "zlib.h"

/* zlib's allocations: its inflate state (about 7 KiB) and, should it ever need one, a 32 KiB
   window. The state is made once and reset for each object. */
static unsigned char arena[48 * 1024];
static unsigned used;

static voidpf arena_alloc(voidpf opaque, uInt items, uInt size) {
  (void)opaque;
  if (size != 0 && items > (sizeof arena) / size) return Z_NULL;
  unsigned n = (items * size + 15u) & ~15u;
  if (n > sizeof arena - used) return Z_NULL;
  voidpf p = arena + used;
  used += n;
  return p;
}

static void arena_free(voidpf opaque, voidpf p) {
  (void)opaque;
  (void)p;
}

static z_stream strm;
static int ready;

/*
 * Inflate in[0 .. in_len) as exactly one gzip member into out[0 .. out_cap): zlib reads the
 * header, the deflate data, and checks the CRC-32 and the length of the trailer (windowBits
 * 15 + 16: gzip only). Returns the length of the content when the member is valid, ends exactly
 * at in_len and its content fits out_cap; -1 otherwise (not gzip, corrupt, truncated, bytes
 * after the member, a wrong CRC or length, or more content than out_cap).
 */
__attribute__((export_name("gunzip")))
int gunzip(const unsigned char *in, unsigned in_len, unsigned char *out, unsigned out_cap) {
  if (!ready) {
    strm.zalloc = arena_alloc;
    strm.zfree = arena_free;
    if (inflateInit2(&strm, 15 + 16) != Z_OK) return -1;
    ready = 1;
  } else if (inflateReset2(&strm, 15 + 16) != Z_OK) {
    return -1;
  }
  strm.next_in = (z_const Bytef *)in;
  strm.avail_in = in_len;
  strm.next_out = out;
  strm.avail_out = out_cap;
  int r = inflate(&strm, Z_FINISH);
  if (r != Z_STREAM_END || strm.avail_in != 0) return -1;
  return (int)(out_cap - strm.avail_out);
}
