# Declarations from <brotli/encode.h>.

from libc.stdint cimport uint8_t, uint32_t

cdef extern from "brotli/encode.h" nogil:
    ctypedef enum BrotliEncoderMode:
        BROTLI_MODE_GENERIC
        BROTLI_MODE_TEXT
        BROTLI_MODE_FONT

    int BROTLI_MIN_QUALITY
    int BROTLI_MAX_QUALITY
    int BROTLI_MIN_WINDOW_BITS
    int BROTLI_MAX_WINDOW_BITS
    int BROTLI_DEFAULT_WINDOW

    size_t BrotliEncoderMaxCompressedSize(size_t input_size)
    int BrotliEncoderCompress(int quality, int lgwin, BrotliEncoderMode mode,
                              size_t input_size, const uint8_t* input_buffer,
                              size_t* encoded_size, uint8_t* encoded_buffer)
    uint32_t BrotliEncoderVersion()
