# Declarations from <zstd_errors.h>.

cdef extern from "zstd_errors.h" nogil:
    ctypedef enum ZSTD_ErrorCode:
        ZSTD_error_no_error
        ZSTD_error_memory_allocation
        ZSTD_error_dstSize_tooSmall
        ZSTD_error_srcSize_wrong

    ZSTD_ErrorCode ZSTD_getErrorCode(size_t functionResult)
