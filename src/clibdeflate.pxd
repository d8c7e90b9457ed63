# Declarations from <libdeflate.h> (libdeflate >= 1.9 for the *_ex gzip entry points).

cdef extern from "libdeflate.h" nogil:
    struct libdeflate_compressor:
        pass
    struct libdeflate_decompressor:
        pass

    enum libdeflate_result:
        LIBDEFLATE_SUCCESS
        LIBDEFLATE_BAD_DATA
        LIBDEFLATE_SHORT_OUTPUT
        LIBDEFLATE_INSUFFICIENT_SPACE

    const char* LIBDEFLATE_VERSION_STRING

    libdeflate_compressor* libdeflate_alloc_compressor(int compression_level)
    size_t libdeflate_gzip_compress(libdeflate_compressor* compressor,
                                    const void* in_, size_t in_nbytes,
                                    void* out, size_t out_nbytes_avail)
    size_t libdeflate_gzip_compress_bound(libdeflate_compressor* compressor, size_t in_nbytes)
    void libdeflate_free_compressor(libdeflate_compressor* compressor)

    libdeflate_decompressor* libdeflate_alloc_decompressor()
    libdeflate_result libdeflate_gzip_decompress_ex(libdeflate_decompressor* decompressor,
                                                    const void* in_, size_t in_nbytes,
                                                    void* out, size_t out_nbytes_avail,
                                                    size_t* actual_in_nbytes_ret,
                                                    size_t* actual_out_nbytes_ret)
    void libdeflate_free_decompressor(libdeflate_decompressor* decompressor)

    unsigned int libdeflate_crc32(unsigned int crc, const void* buffer, size_t len)
