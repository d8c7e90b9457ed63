# Declarations from <brotli/decode.h>.

from libc.stdint cimport uint8_t, uint32_t

cdef extern from "brotli/decode.h" nogil:
    ctypedef struct BrotliDecoderState:
        pass

    ctypedef enum BrotliDecoderResult:
        BROTLI_DECODER_RESULT_ERROR
        BROTLI_DECODER_RESULT_SUCCESS
        BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT
        BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT

    ctypedef enum BrotliDecoderErrorCode:
        BROTLI_DECODER_NO_ERROR
        BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES
        BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES

    BrotliDecoderState* BrotliDecoderCreateInstance(void* alloc_func, void* free_func, void* opaque)
    void BrotliDecoderDestroyInstance(BrotliDecoderState* state)
    BrotliDecoderResult BrotliDecoderDecompressStream(BrotliDecoderState* state,
                                                      size_t* available_in, const uint8_t** next_in,
                                                      size_t* available_out, uint8_t** next_out,
                                                      size_t* total_out)
    int BrotliDecoderIsFinished(const BrotliDecoderState* state)
    int BrotliDecoderIsUsed(const BrotliDecoderState* state)
    BrotliDecoderErrorCode BrotliDecoderGetErrorCode(const BrotliDecoderState* state)
    const char* BrotliDecoderErrorString(BrotliDecoderErrorCode c)
    uint32_t BrotliDecoderVersion()
